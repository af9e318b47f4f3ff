"""``omniretail loyalty ...``"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omniretail.cli.context import DbOption, open_container
from omniretail.loyalty import service

app = typer.Typer(
    help="Loyalty: backfill, recompute, scheduled jobs, birthday coupons.", no_args_is_help=True
)
console = Console()


@app.command("backfill")
def backfill_command(
    db: DbOption = None,
    as_of: Annotated[
        datetime | None, typer.Option(help="Evaluate windows and tiers at (default: now)")
    ] = None,
) -> None:
    """Run the programme over the imported history: timeline, balance and tier per customer."""
    container = open_container(db)
    with container.uow() as uow:
        report = service.backfill_history(uow, as_of=as_of, actor="cli:backfill")
    console.print_json(report.model_dump_json())


@app.command()
def recompute(
    db: DbOption = None,
    check: Annotated[bool, typer.Option("--check", help="Report only, change nothing")] = False,
) -> None:
    """Rebuild account balances from the ledger and report drift (exit 1 if any was found)."""
    container = open_container(db)
    with container.uow() as uow:
        report = service.recompute_balances(uow, fix=not check)
    if not report.drift:
        console.print(f"[green]ok[/]: {report.accounts} accounts match the ledger")
        return
    table = Table("customer", "counter", "stored", "ledger")
    for row in report.drift[:200]:
        table.add_row(str(row.customer_id), row.counter, str(row.stored), str(row.ledger))
    console.print(table)
    verb = "rebuilt from the ledger" if report.fixed else "left as they are (--check)"
    console.print(f"[red]drift[/]: {len(report.drift)} counters differ; {verb}")
    raise typer.Exit(1)


@app.command()
def jobs(db: DbOption = None) -> None:
    """Release matured points, expire old lots, issue today's birthday coupons."""
    container = open_container(db)
    with container.uow() as uow:
        released = service.release_matured_points(uow, actor="cli:jobs", limit=100_000)
        expired = service.expire_points(uow, actor="cli:jobs", limit=100_000)
        birthdays = service.award_birthday_coupons(uow, actor="cli:jobs")
    console.print(f"released {released} lots, expired {expired} lots, {birthdays} birthday coupons")


@app.command()
def birthdays(
    db: DbOption = None,
    at: Annotated[
        datetime | None,
        typer.Option(help="Run as at this time (ISO 8601 with an offset; default: now)"),
    ] = None,
) -> None:
    """Issue the birthday coupons due now (each customer in their time zone), once."""
    if at is not None and at.tzinfo is None:
        console.print("[red]--at needs a UTC offset[/], e.g. 2026-11-02T15:30:00+00:00")
        raise typer.Exit(2)
    container = open_container(db)
    with container.uow() as uow:
        issued = service.award_birthday_coupons(uow, actor="cli:birthdays", at=at)
    console.print(f"{issued} birthday coupons issued")
