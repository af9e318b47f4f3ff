"""``omniretail marketing journeys ...``"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from omniretail.cli.context import DbOption, cli_root, open_container
from omniretail.marketing import service
from omniretail.marketing.sending_workers import DeliveryWorkers
from omniretail.marketing.tasks import INTERVAL_SECONDS, tick

app = typer.Typer(help="Journeys: list, run.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_command(db: DbOption = None) -> None:
    """Journeys with their status and live version."""
    container = open_container(db)
    with container.read_uow() as uow:
        for j in service.list_journeys(uow):
            console.print(f"{j.code}\t{j.status}\tv{j.live_version or '-'}\t{j.name}")


@app.command("run")
def run_command(
    db: DbOption = None,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit")] = False,
) -> None:
    """Sweep date/inactivity triggers, advance due runs and deliver due sends (those two in
    ``marketing_delivery_processes`` processes when set)."""
    container = open_container(db)
    processes = 0 if once else container.settings.marketing_delivery_processes
    workers = None
    if processes:
        workers = DeliveryWorkers(cli_root().build, container.settings, processes)
        workers.start()
        console.print(f"advancing runs and delivering sends in {processes} processes")
    try:
        while True:
            result = tick(container, deliver=workers is None)
            advanced = result.advanced if workers is None else workers.advanced
            delivered = result.delivered if workers is None else workers.delivered
            console.print(f"entered {result.entered}, advanced {advanced}, delivered {delivered}")
            if once:
                return
            time.sleep(INTERVAL_SECONDS)
    finally:
        if workers is not None:
            workers.stop()
