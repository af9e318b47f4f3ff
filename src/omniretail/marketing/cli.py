"""``omniretail marketing ...``"""

from __future__ import annotations

import typer
from rich.console import Console

from omniretail.cli.context import DbOption, open_container
from omniretail.marketing import service
from omniretail.marketing.journeys_cli import app as journeys_app
from omniretail.marketing.segments_cli import app as segments_app

app = typer.Typer(help="Marketing: segments, journeys, retail triggers.", no_args_is_help=True)
app.add_typer(segments_app, name="segments")
app.add_typer(journeys_app, name="journeys")
console = Console()


@app.command("browse-sweep")
def browse_sweep_command(
    db: DbOption = None,
) -> None:
    """Record ``marketing.browse_abandoned`` for product views not followed by a cart line or
    an order (once per customer, SKU and day)."""
    container = open_container(db)
    with container.uow() as uow:
        recorded = service.browse_sweep(uow)
    console.print(f"browse_abandoned: {recorded}")
