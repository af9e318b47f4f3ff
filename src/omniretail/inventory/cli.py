"""``omniretail inventory ...``"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from omniretail.cli.context import DbOption, open_container
from omniretail.inventory import availability, service

app = typer.Typer(help="Stock: verify counters, sweep expired holds.", no_args_is_help=True)
console = Console()


@app.command()
def verify(db: DbOption = None) -> None:
    """Check every counter against the ledger; exits 1 on drift."""
    container = open_container(db)
    with container.read_uow() as uow:
        report = availability.verify(uow)
    if report.ok:
        console.print(f"[green]ok[/]: {report.checked} stock records match the ledger")
        return
    table = Table("sku", "location", "counter", "stored", "expected", "source")
    for row in report.drift[:200]:
        table.add_row(
            row.sku, row.location, row.counter, str(row.stored), str(row.expected), row.source
        )
    console.print(table)
    console.print(f"[red]drift[/]: {len(report.drift)} counters differ ({report.checked} checked)")
    raise typer.Exit(1)


@app.command()
def sweep(db: DbOption = None) -> None:
    """Release every expired cart reservation now."""
    container = open_container(db)
    total = 0
    while True:
        with container.uow() as uow:
            released = service.release_expired_holds(uow, actor="cli:sweep")
        total += released
        if released == 0:
            break
    console.print(f"released {total} expired reservations")
