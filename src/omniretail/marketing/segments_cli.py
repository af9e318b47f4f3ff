"""``omniretail marketing segments ...``"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from omniretail.cli.context import DbOption, open_container
from omniretail.kernel.vault import vault_for
from omniretail.marketing import service

app = typer.Typer(help="Segments: list, refresh.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_command(db: DbOption = None) -> None:
    """Saved segments with their member counts."""
    container = open_container(db)
    with container.read_uow() as uow:
        for segment in service.list_segments(uow):
            console.print(f"{segment.id}\t{segment.member_count}\t{segment.name}\t{segment.rule}")


@app.command("refresh")
def refresh_command(
    db: DbOption = None,
    segment: Annotated[list[int] | None, typer.Option(help="Only these segment ids")] = None,
) -> None:
    """Evaluate every active customer against the segments now (entries and exits are
    recorded as events)."""
    container = open_container(db)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("customers", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = service.refresh(
            container.uow,
            segment_ids=segment or None,
            progress=progress,
            vault=vault_for(container.keyring),
        )
    console.print_json(report.model_dump_json())
