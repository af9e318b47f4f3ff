"""``omniretail pricing dynamic run [--dry-run] [--channel WEB]``: the rules applied now."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from omniretail.cli.context import DbOption, open_container
from omniretail.intelligence import dynamic_pricing

pricing_app = typer.Typer(help="Pricing runs: dynamic pricing.", no_args_is_help=True)
dynamic_app = typer.Typer(help="Rule-based dynamic pricing.", no_args_is_help=True)
pricing_app.add_typer(dynamic_app, name="dynamic")
console = Console()
SHOWN = 50


@dynamic_app.command("run")
def run_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Propose; change nothing")] = False,
    channel: Annotated[str | None, typer.Option(help="Only this channel's rules")] = None,
    actor: Annotated[str, typer.Option(help="Who the change log names")] = "cli:dynamic-pricing",
    db: DbOption = None,
) -> None:
    """Evaluate the active rules for every SKU in stock and apply them (once a day per SKU),
    printing each change and why."""
    container = open_container(db)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("evaluating rules", total=None)

        def progress(done: int, message: str) -> None:
            bar.update(task, completed=done, description=message)

        factory = container.read_uow if dry_run else container.uow
        with factory() as uow:
            result = dynamic_pricing.run(
                uow,
                actor=actor,
                dry_run=dry_run,
                channel=channel.upper() if channel else None,
                progress=progress,
            )
    table = Table("sku", "channel", "rule", "old", "new", "why")
    moved = [p for p in result.proposals if p.new_price is not None]
    for p in moved[:SHOWN]:
        table.add_row(
            p.sku, p.channel, p.rule or "", str(p.old_price), str(p.new_price), p.explanation
        )
    if moved:
        console.print(table)
    verb = "would change" if dry_run else "changed"
    console.print(f"{result.evaluated} SKU x channel evaluated; {verb} {len(moved)}")
