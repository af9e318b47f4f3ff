"""``omniretail markdowns suggest | list``."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from omniretail.cli.context import DbOption, open_container
from omniretail.intelligence import markdown_service as markdowns
from omniretail.intelligence.markdowns import MarkdownConfig

console = Console(stderr=True)
markdowns_app = typer.Typer(help="Markdown suggestions for slow stock.", no_args_is_help=True)


@markdowns_app.command("suggest")
def suggest_command(
    channel: Annotated[str, typer.Option("--channel")] = "WEB",
    start: Annotated[str | None, typer.Option("--start", help="First day, YYYY-MM-DD")] = None,
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=26, help="Weeks to clear")] = 8,
    db: DbOption = None,
) -> None:
    """Fits the price response, forecasts, and replaces the undecided suggestions."""
    try:
        first = datetime.strptime(start, "%Y-%m-%d").date() if start else None
    except ValueError:
        raise typer.BadParameter(
            f"expected YYYY-MM-DD, got {start!r}", param_hint="--start"
        ) from None
    container = open_container(db)
    day: date = first or container.clock.now().date() + timedelta(days=1)
    with Progress(
        TextColumn("[bold]markdowns[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("fitting and forecasting", total=None)

        def on_plan(done: int, total: int) -> None:
            bar.update(task, description="ladders", completed=done, total=total)

        run = markdowns.suggest_markdowns(
            container.read_engine,
            container.uow,
            container.read_uow,
            channel=channel.upper(),
            start=day,
            config=MarkdownConfig(weeks=weeks),
            progress=on_plan,
        )
    fit = run.elasticity
    low, high = fit.ci95
    console.print(
        f"elasticity {fit.coefficient:.3f} (SE {fit.std_error:.3f}, 95% CI {low:.3f} to"
        f" {high:.3f}; {fit.observations:,} product-weeks, {fit.products:,} products); holdout"
        f" RMSE of log units {fit.holdout_rmse:.3f} vs {fit.baseline_rmse:.3f} without price"
    )
    console.print(
        f"{run.candidates:,} SKU x location pairs with too much cover by {run.clear_by:%Y-%m-%d};"
        f" {run.suggested:,} ladders suggested"
    )
    typer.echo(json.dumps(run.read().model_dump(mode="json")))


@markdowns_app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option("--status")] = None,
    location: Annotated[str | None, typer.Option("--location")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    db: DbOption = None,
) -> None:
    """The stored suggestions, newest first."""
    if status is not None and status not in ("suggested", "approved", "rejected"):
        raise typer.BadParameter("suggested, approved or rejected", param_hint="--status")
    container = open_container(db)
    with container.read_uow() as uow:
        rows = markdowns.list_markdowns(uow, status=status, location=location, limit=limit)
    table = Table(
        "id",
        "sku",
        "location",
        "status",
        "on hand",
        "expected units",
        "expected revenue",
        "no markdown",
        "clears",
    )
    for r in rows:
        table.add_row(
            str(r.id),
            r.sku,
            r.location,
            r.status,
            str(r.on_hand),
            f"{r.expected_units:.1f}",
            f"{r.expected_revenue} {r.currency}",
            f"{r.baseline_revenue} {r.currency}",
            "yes" if r.clears else "no",
        )
    Console().print(table)
