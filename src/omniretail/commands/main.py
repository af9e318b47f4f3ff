"""``omniretail``: the command-line root. It mounts every domain's commands and hands them
the composition root through the Typer context object (``cli.context.CliRoot``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from omniretail.bootstrap import Container, build_container
from omniretail.cli.context import CliRoot, DbOption, open_container
from omniretail.commands.keys import app as keys_app
from omniretail.db.outbox import latest_position, list_events
from omniretail.demo.cli import demo_command
from omniretail.fulfilment.cli import orders_app
from omniretail.history.cli import import_command
from omniretail.intelligence import cli as intelligence_cli
from omniretail.inventory.cli import app as inventory_app
from omniretail.jobs.cli import app as jobs_app
from omniretail.loyalty.cli import app as loyalty_app
from omniretail.marketing.cli import app as marketing_app
from omniretail.messaging.cli import app as messaging_app
from omniretail.notifications.cli import messages_command
from omniretail.routing.cli import route_app
from omniretail.runtime import Runtime
from omniretail.settings import Settings
from omniretail.support.cli import app as support_app


def _build(settings: Settings) -> Container:
    return build_container(settings)


def _serve(runtime: Runtime, host: str, port: int) -> None:
    from omniretail.commands.server import run_server

    run_server(_container(runtime), host=host, port=port)


def _container(runtime: Runtime) -> Container:
    """The container ``_build`` made (commands hold it as a ``Runtime``)."""
    if not isinstance(runtime, Container):
        raise TypeError(f"not built by the composition root: {runtime!r}")
    return runtime


app = typer.Typer(
    name="omniretail",
    help="Omniretail: one stock, one customer, one order flow across every channel.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(ctx: typer.Context) -> None:
    # Every command reaches the composition root through ``ctx.obj`` (built only on demand).
    ctx.obj = CliRoot(build=_build, serve=_serve)


events_app = typer.Typer(help="Domain events in the outbox.", no_args_is_help=True)
app.add_typer(events_app, name="events")
events_app.add_typer(messaging_app)  # relay, dead-letters, replay
app.add_typer(inventory_app, name="inventory")
app.add_typer(jobs_app, name="jobs")
app.add_typer(keys_app, name="keys")
app.add_typer(loyalty_app, name="loyalty")
app.add_typer(marketing_app, name="marketing")
app.add_typer(support_app, name="support")
idempotency_app = typer.Typer(help="Stored Idempotency-Key replies.", no_args_is_help=True)
app.add_typer(idempotency_app, name="idempotency")
app.add_typer(route_app, name="route")
app.add_typer(orders_app, name="orders")
app.add_typer(intelligence_cli.pricing_app, name="pricing")
app.command("import")(import_command)
app.command("demo")(demo_command)
app.command("messages")(messages_command)
app.command("forecast")(intelligence_cli.forecast_command)
app.command("recommend")(intelligence_cli.recommend_command)
app.command("clv")(intelligence_cli.clv_command)
app.command("evaluate")(intelligence_cli.evaluate_command)
app.command("report")(intelligence_cli.report_command)
app.add_typer(intelligence_cli.replenish_app, name="replenish")
app.add_typer(intelligence_cli.markdowns_app, name="markdowns")

console = Console()


@app.command()
def migrate(db: DbOption = None) -> None:
    """Create or upgrade the database schema."""
    container = open_container(db)
    console.print(f"[green]schema up to date[/] on {container.backend}")


@app.command()
def serve(
    db: DbOption = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    other_processes: Annotated[
        int,
        typer.Option(
            help="Other processes on the same PostgreSQL (relays, job workers), for the"
            " connection budget"
        ),
    ] = 0,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="TLS certificate (PEM); with --ssl-keyfile serves HTTPS")
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM)")] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies (comma-separated addresses) whose X-Forwarded-* headers are trusted;"
            " default OMNIRETAIL_FORWARDED_ALLOW_IPS"
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (and the periodic reservation sweep, relay and job worker). On an
    address other than loopback, use TLS or a trusted TLS-terminating proxy (a warning says
    so otherwise)."""
    from omniretail.commands.server import run_server
    from omniretail.db.budget import ConnectionBudgetError

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("--ssl-certfile and --ssl-keyfile go together")
    try:
        container = open_container(db, processes=workers + other_processes)
    except ConnectionBudgetError as exc:
        console.print(f"[red]refusing to start:[/] {exc}")
        raise typer.Exit(2) from None
    pools = container.pools
    console.print(
        f"{workers} worker(s) on {container.backend}; per process: {pools.write} connections"
        + (f" + {pools.relaxed} relaxed" if pools.relaxed else "")
        + (f" (share {pools.share})" if pools.share is not None else "")
    )
    run_server(
        _container(container),
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        forwarded_allow_ips=forwarded_allow_ips,
    )


@events_app.command("tail")
def events_tail(
    db: DbOption = None,
    last: Annotated[int, typer.Option("-n", "--last", help="How many recent events")] = 20,
    type_prefix: Annotated[
        str | None, typer.Option("--type", help="e.g. omniretail.inventory")
    ] = None,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep printing new events")
    ] = False,
    interval: float = 1.0,
) -> None:
    """Print outbox events as CloudEvents JSON, one per line."""
    container = open_container(db)
    with container.read_uow() as uow:
        after = max(0, latest_position(uow.session) - last) if last else 0
    while True:
        with container.read_uow() as uow:
            batch = list_events(uow.session, after=after, limit=500, type_prefix=type_prefix)
            for message in batch:
                typer.echo(json.dumps(message.as_cloud_event(), sort_keys=True))
                after = message.position
        if not follow:
            break
        if not batch:
            time.sleep(interval)


@idempotency_app.command("sweep")
def idempotency_sweep(db: DbOption = None) -> None:
    """Delete Idempotency-Keys older than OMNIRETAIL_IDEMPOTENCY_TTL_HOURS (the server does
    this in its periodic sweep too)."""
    from omniretail.api.deps import sweep_idempotency_keys

    container = open_container(db)
    deleted = sweep_idempotency_keys(container)
    console.print(f"deleted {deleted} expired idempotency keys")


def main() -> None:
    app()
