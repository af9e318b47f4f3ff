"""``omniretail events relay | dead-letters | replay`` (merged into the ``events`` group)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omniretail.cli.context import DbOption, open_container
from omniretail.kernel.errors import DomainError
from omniretail.messaging import service

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command()
def relay(
    db: DbOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Deliver everything due now, then exit")
    ] = False,
    interval: Annotated[
        float | None, typer.Option(help="Seconds between probes when idle (default: settings)")
    ] = None,
) -> None:
    """Deliver outbox events to their handlers: webhooks, notifications, domain reactions."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    container = open_container(db)
    outbox_relay = container.relay()
    if once:
        report = outbox_relay.run_until_idle()
        console.print(
            f"delivered {report.delivered}, skipped {report.skipped}, retrying {report.retried}, "
            f"dead {report.dead}, published {report.published} events"
        )
        return
    console.print(f"relaying events from {container.backend}; Ctrl-C stops")
    try:
        outbox_relay.run_forever(interval or container.settings.relay_interval_seconds)
    except KeyboardInterrupt:
        # A delivery cut off here is claimed again once its lease runs out.
        console.print("stopped")


@app.command("dead-letters")
def dead_letters(
    db: DbOption = None,
    handler: Annotated[
        str | None, typer.Option(help="Handler name prefix, e.g. webhook: or orders.")
    ] = None,
    limit: int = 100,
) -> None:
    """List deliveries that used up their attempts (newest first)."""
    container = open_container(db)
    with container.read_uow() as uow:
        rows = service.list_dead_letters(uow, handler_prefix=handler, limit=limit)
    table = Table("id", "type", "attempts", "last error", "updated")
    # Operators copy the ids to replay them: never truncate these two.
    table.add_column("event", no_wrap=True, min_width=36)
    table.add_column("handler", no_wrap=True, min_width=12)
    for row in rows:
        table.add_row(
            str(row.id),
            row.event_type,
            str(row.attempts),
            (row.last_error or "")[:120],
            row.updated_at.isoformat(timespec="seconds"),
            row.message_id,
            row.handler,
        )
    console.print(table)
    console.print(f"{len(rows)} dead letters")


@app.command()
def replay(
    id: Annotated[str, typer.Argument(help="A delivery id, or an event id for all its dead ones")],
    db: DbOption = None,
) -> None:
    """Give dead deliveries a fresh set of attempts; the relay sends them on its next pass."""
    container = open_container(db)
    try:
        with container.uow() as uow:
            if id.isdigit():
                replayed = [service.replay_delivery(uow, int(id), actor="cli:replay")]
            else:
                replayed = service.replay_message(uow, id, actor="cli:replay")
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from exc
    for row in replayed:
        console.print(f"delivery {row.id} ({row.handler}, event {row.message_id}) is due again")
