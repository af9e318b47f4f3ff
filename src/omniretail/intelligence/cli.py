"""``omniretail forecast | recommend | clv | evaluate | report | replenish plan``.

The first three are a stable contract (scripts depend on their columns exactly)."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from omniretail.cli.context import DbOption, open_container
from omniretail.intelligence import recommending, repository, service
from omniretail.intelligence.dynamic_pricing_cli import pricing_app as pricing_app
from omniretail.intelligence.replenishment import ReplenishmentConfig
from omniretail.intelligence.replenishment_run import NothingToPlan, run_replenishment
from omniretail.runtime import Runtime

console = Console(stderr=True)
StartOption = Annotated[str, typer.Option("--start", help="First forecast day, YYYY-MM-DD")]
WeeksOption = Annotated[int, typer.Option("--weeks", min=1, max=104, help="Weekly periods")]
OutOption = Annotated[Path, typer.Option("--out", help="CSV file to write")]
replenish_app = typer.Typer(
    help="Reorder points and what to order or transfer.", no_args_is_help=True
)


def _day(value: str, option: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}", param_hint=option) from None


class _Progress:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        console.print(f"[{time.perf_counter() - self.started:6.1f}s] {message}")


def forecast_command(
    start: StartOption, weeks: WeeksOption, out: OutOption, db: DbOption = None
) -> None:
    """Weekly demand per SKU: CSV ``sku,period_start,quantity``."""
    first = _day(start, "--start")
    progress = _Progress()
    container = open_container(db)
    tx = service.load_history(container.read_engine)
    progress(f"loaded {tx.height:,} order lines")
    result = service.forecast_demand(tx, first, weeks)
    progress(f"forecast {len(result.skus):,} SKUs x {weeks} weeks")
    frame = result.frame()
    frame.write_csv(out, date_format="%Y-%m-%d")
    with container.uow() as uow:
        stored = service.store_forecast(uow, result)
    progress(f"wrote {out} ({frame.height:,} rows); stored {stored:,} rows")


def recommend_command(
    out: OutOption,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Products per customer")] = 10,
    db: DbOption = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Default: after the history")] = None,
    new_only: Annotated[
        bool, typer.Option("--new-only", help="Only products the customer has not bought")
    ] = False,
    new_slots: Annotated[
        int | None,
        typer.Option(
            "--new-slots",
            min=0,
            max=100,
            help="Last places kept for products new to the customer, for every customer"
            " (default: 1 of 10, 4 of 10 for customers with fewer than 3 orders)",
        ),
    ] = None,
) -> None:
    """Top-k products per known customer: CSV ``customer_id,rank,sku``. With ``--new-only``
    the "new for you" list: only products the customer has not bought."""
    progress = _Progress()
    container = open_container(db)
    tx = service.load_history(container.read_engine)
    with container.read_uow() as uow:
        customers = repository.list_customers(uow.session)
    progress(f"loaded {tx.height:,} order lines, {customers.height:,} customers")
    day = _day(as_of, "--as-of") if as_of else _after(tx)
    lists = service.recommend_products(tx, day, k, new_slots=new_slots)
    everyone = service.lists_for_everyone(lists, customers, new_only=new_only)
    progress(f"ranked products for {everyone['customer_id'].n_unique():,} customers")
    everyone.filter(pl.col("customer_number").is_not_null()).select(
        pl.col("customer_number").cast(pl.String).alias("customer_id"), "rank", "sku"
    ).write_csv(out)
    pairs = recommending.bought_together(tx, day)
    with container.uow() as uow:
        service.store_recommendations(uow, lists)
        service.store_associations(uow, pairs)
    progress(f"wrote {out}; stored lists and bought-together pairs")


def clv_command(
    start: StartOption, weeks: WeeksOption, out: OutOption, db: DbOption = None
) -> None:
    """Expected revenue over the horizon and probability of being active: CSV
    ``customer_id,expected_revenue,p_alive``."""
    first = _day(start, "--start")
    progress = _Progress()
    container = open_container(db)
    tx = service.load_history(container.read_engine)
    with container.read_uow() as uow:
        customers = repository.list_customers(uow.session)
    progress(f"loaded {tx.height:,} order lines, {customers.height:,} customers")
    scores = service.score_customers(tx, customers, first, weeks)
    progress(f"scored {scores.height:,} customers")
    scores.filter(pl.col("customer_number").is_not_null()).select(
        pl.col("customer_number").cast(pl.String).alias("customer_id"),
        pl.col("expected_revenue").round(2),
        pl.col("p_alive").round(4),
    ).sort("customer_id").write_csv(out)
    with container.uow() as uow:
        service.store_customer_scores(uow, scores, first, weeks)
    progress(f"wrote {out}; stored segments, CLV and p_alive")


def _after(tx: pl.DataFrame) -> date:
    last: date | None = tx.select(pl.col("day").max()).item()
    return date.today() if last is None else date.fromordinal(last.toordinal() + 1)


@replenish_app.command("plan")
def replenish_plan(
    db: DbOption = None,
    start: Annotated[str | None, typer.Option("--start", help="Default: after the history")] = None,
    lead_time_weeks: Annotated[int, typer.Option(min=0, max=52)] = 2,
    service_level: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.95,
    channel: Annotated[
        str, typer.Option("--channel", help="Whose demand (the imported history is WEB)")
    ] = "WEB",
    out: Annotated[Path | None, typer.Option("--out", help="Also write the plan as CSV")] = None,
) -> None:
    """Set reorder points from the forecast, then list what to order or transfer and the
    overstocked stock (weeks of cover, markdown candidates).

    Reorder points go to the locations that serve the channel: its warehouses, else its
    locations, else every active warehouse (``omniretail demo`` builds such a network)."""
    progress = _Progress()
    container = open_container(db)
    try:
        run = run_replenishment(
            container.read_engine,
            container.uow,
            container.read_uow,
            config=ReplenishmentConfig(
                lead_time_weeks=lead_time_weeks, service_level=service_level
            ),
            channel=channel.strip().upper(),
            today=container.clock.now().date(),
            start=_day(start, "--start") if start else None,
            progress=progress,
        )
    except NothingToPlan as exc:
        console.print(f"[red]no reorder points written[/]: {exc.detail}")
        raise typer.Exit(1) from None
    console.print(run.basis(), highlight=False, soft_wrap=True)
    if out is not None:
        run.actions.write_csv(out)
    _print(run.actions.head(50), "what to order or transfer")
    console.print(f"{run.actions.height:,} actions")
    _print(run.markdown.head(20), "markdown candidates (largest overstock first)")
    console.print(f"{run.markdown.height:,} markdown candidates")
    progress("done")


def _print(frame: pl.DataFrame, title: str) -> None:
    table = Table(*frame.columns, title=title)
    for row in frame.iter_rows():
        table.add_row(
            *[("" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v)) for v in row]
        )
    Console().print(table)


def evaluate_command(
    cutoff: Annotated[list[str] | None, typer.Option("--cutoff", help="Repeatable")] = None,
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=52)] = 12,
    db: DbOption = None,
    source: Annotated[
        Path | None, typer.Option("--source", help="Parquet log instead of --db")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the tables as Markdown")] = None,
) -> None:
    """Fit before each cutoff, score the following weeks, print metrics next to baselines."""
    from omniretail.intelligence import evaluation
    from omniretail.intelligence.transactions import read_source_file

    progress = _Progress()
    if source is not None:
        tx = read_source_file(source)
    else:
        tx = service.load_history(open_container(db).read_engine)
    progress(f"loaded {tx.height:,} order lines")
    cutoffs = [_day(c, "--cutoff") for c in cutoff] if cutoff else evaluation.REPORTED_CUTOFFS
    results = evaluation.evaluate(tx, cutoffs, weeks, progress)
    text = evaluation.markdown(results)
    Console().print(text)
    if out is not None:
        out.write_text(text)


def report_command(
    out: Annotated[Path, typer.Option("--out", help="Directory for index.html")],
    db: DbOption = None,
) -> None:
    """A self-contained HTML report (charts embedded) a merchant can read."""
    from omniretail.intelligence import report

    progress = _Progress()
    tx = service.load_history(open_container(db).read_engine)
    progress(f"loaded {tx.height:,} order lines")
    path = report.write_report(tx, out)
    progress(f"wrote {path}")


def refresh_with_progress(container: Runtime, out: Console) -> None:
    """``tasks.refresh_all`` with a progress bar, then what was stored."""
    from omniretail.intelligence.tasks import REFRESH_STEPS, refresh_all

    with Progress(
        TextColumn("[bold]intelligence[/] {task.description:<48}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=out,
    ) as bar:
        task = bar.add_task("starting", total=REFRESH_STEPS)
        steps: list[str] = []

        def on_step(message: str) -> None:
            if steps:
                bar.advance(task)
            steps.append(message)
            bar.update(task, description=message)

        result = refresh_all(container, progress=on_step)
        bar.update(task, completed=REFRESH_STEPS, description="done")
    counts = result.counts
    out.print(
        f"intelligence: as of {result.as_of:%Y-%m-%d}, {counts['customers']:,} customers"
        f" scored (segments, CLV, p_alive), {counts['recommendations']:,} recommendations,"
        f" {counts['bought_together']:,} bought-together pairs, {counts['forecast_rows']:,}"
        f" forecast rows, {counts['reorder_points']:,} reorder points; {result.seconds:.0f} s"
    )


# ``omniretail markdowns suggest | list`` (mounted by the CLI root).
from omniretail.intelligence.markdown_cli import markdowns_app as markdowns_app  # noqa: E402
