"""``omniretail jobs run | worker | list``."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omniretail.cli.context import DbOption, open_container
from omniretail.jobs import service

app = typer.Typer(
    help="Durable background jobs (loyalty release, expiry, ...).", no_args_is_help=True
)
console = Console()


@app.command()
def run(db: DbOption = None) -> None:
    """Run every job that is due now, then exit (e.g. from cron)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    container = open_container(db)
    count = container.job_runner().run_until_idle()
    console.print(f"ran {count} job(s)")


@app.command()
def worker(
    db: DbOption = None,
    interval: Annotated[
        float | None, typer.Option(help="Seconds to wait when idle (default: settings)")
    ] = None,
) -> None:
    """Run jobs as they are requested, until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    container = open_container(db)
    console.print(f"running jobs from {container.backend}; Ctrl-C stops")
    try:
        container.job_runner().run_forever(interval or container.settings.jobs_poll_seconds)
    except KeyboardInterrupt:
        # A job cut off here is taken again by a worker once its lease runs out.
        console.print("stopped")


@app.command("list")
def list_jobs(db: DbOption = None, kind: str | None = None, limit: int = 20) -> None:
    """The most recent jobs, newest first."""
    container = open_container(db)
    with container.read_uow() as uow:
        jobs = service.recent(uow, kind=kind, limit=limit)
    table = Table("id", "kind", "state", "progress", "requested by", "created", "error")
    for job in jobs:
        table.add_row(
            job.id,
            job.kind,
            job.state,
            job.progress_message or "",
            job.requested_by,
            f"{job.created_at:%Y-%m-%d %H:%M:%S}",
            job.error or "",
        )
    console.print(table)
