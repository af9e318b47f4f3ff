"""``omniretail import PATH``: load a transaction log, with a progress bar over the phases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from omniretail.cli.context import DbOption, open_container
from omniretail.history import service
from omniretail.history.schemas import ImportReport
from omniretail.history.shift import Shift
from omniretail.kernel.errors import DomainError
from omniretail.runtime import Runtime

console = Console()


def import_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="Transaction log in the Online Retail II layout (.parquet, .csv, .xlsx)"
        ),
    ],
    db: DbOption = None,
    shift_years: Annotated[
        int,
        typer.Option(
            "--shift-years",
            min=0,
            help="Move every invoice forward by this many years, rounded to whole weeks so"
            " that weekdays are kept (0: the original dates)",
        ),
    ] = 0,
) -> None:
    """Import a transaction log: products and SKUs, customers and the order history.

    Importing the same log again adds nothing."""
    container = open_container(db)
    try:
        report, elapsed = run_import(container, path, console=console, shift_years=shift_years)
    except DomainError as exc:
        console.print(f"[red]import refused[/]: {exc.detail}")
        raise typer.Exit(2) from exc
    finally:
        container.dispose()
    print_report(console, report)
    console.print(f"[green]imported[/] {path.name} into {report.backend} in {elapsed:.1f} s")


def run_import(
    container: Runtime,
    path: Path,
    *,
    console: Console,
    actor: str = "cli:import",
    shift_years: int | None = 0,
) -> tuple[ImportReport, float]:
    """One import in one transaction; returns the report and the seconds it took (commit
    included). ``shift_years``: see ``service.import_history`` (None: end within the last
    year)."""
    started = time.perf_counter()
    with import_progress(console) as on_phase, container.uow() as uow:
        report = service.import_history(
            uow, path, actor=actor, shift_years=shift_years, on_phase=on_phase
        )
        on_phase("commit")
    return report, time.perf_counter() - started


@contextmanager
def import_progress(console: Console) -> Iterator[service.PhaseCallback]:
    phases = [*service.PHASES, "commit"]
    with Progress(
        TextColumn("[bold]import[/] {task.description:<13}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(phases[0], total=len(phases))
        started: list[str] = []

        def on_phase(phase: str) -> None:
            if started:
                progress.advance(task)
            started.append(phase)
            progress.update(task, description=phase)

        yield on_phase
        progress.update(task, completed=len(phases), description="done")


def print_report(console: Console, report: ImportReport) -> None:
    table = Table(title=f"Import of {report.source}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column()
    created = report.created

    def row(label: str, value: int, note: str = "") -> None:
        table.add_row(label, f"{value:,}", note)

    row("rows read", report.rows_read)
    row("  stock codes", report.stock_codes_read, "distinct, as spelt in the source")
    row("rows kept", report.rows_kept, "one order line each")
    for reason, count in report.rows_set_aside.items():
        row("  set aside", count, reason)
    row("invoices -> orders", report.invoices, f"{created.orders:,} new")
    for kind, count in report.orders_by_kind.items():
        row(f"  {kind}", count)
    row("order lines", report.order_lines, f"{created.order_lines:,} new")
    row("  product lines", report.product_lines)
    row("  charge lines", report.charge_lines, "non-product codes, kept out of the catalog")
    for group in report.non_product_codes:
        codes = ", ".join(group.codes[:6]) + (" ..." if len(group.codes) > 6 else "")
        row(f"    {group.kind}", group.lines, codes)
    row("SKUs (one product each)", report.skus, f"{created.skus:,} new")
    row("  without a description", report.skus_without_description, "named by their code")
    row("  spellings merged", report.stock_codes_merged, "case or spaces (85123a -> 85123A)")
    row("customers", report.customers, f"{created.customers:,} new")
    row("guest lines (no customer)", report.guest_lines, "kept on guest orders")
    row("price <= 0 lines", report.price_not_positive_lines, "kept")
    row("negative quantity lines", report.negative_quantity_lines, "kept")
    row("  on sale invoices", report.negative_quantity_sale_lines, "stock write-offs, kept")
    row("exact duplicate lines", report.duplicate_lines, "kept: separate lines as billed")
    row("missing descriptions", report.missing_description_lines, "kept")
    cancellations = report.cancellations
    row("cancelled product lines", cancellations.lines)
    row("  linked to their sale", cancellations.linked, f"{created.cancellation_links:,} new")
    row("  unmatched: guest", cancellations.unmatched_no_customer)
    row("  unmatched: no earlier sale", cancellations.unmatched_no_sale)
    console.print(table)
    console.print(dates_line(report), highlight=False, soft_wrap=True)


def dates_line(report: ImportReport) -> str:
    """Which days the history covers and whether they were moved."""
    if report.first_day is None or report.last_day is None:
        return "history dates: unknown (imported before dates were reported)"
    span = f"{report.first_day:%Y-%m-%d} to {report.last_day:%Y-%m-%d}"
    if not report.shift_days:
        return f"history dates: {span} (the log's own dates)"
    shift = Shift(report.shift_years, report.shift_days)
    first, last = shift.apply_back(report.first_day), shift.apply_back(report.last_day)
    return (
        f"history dates: {span}, moved from {first:%Y-%m-%d} to {last:%Y-%m-%d} by"
        f" {shift.describe()}"
    )
