"""``omniretail marketing ...``"""

from __future__ import annotations

import typer

from omniretail.marketing.journeys_cli import app as journeys_app
from omniretail.marketing.segments_cli import app as segments_app

app = typer.Typer(help="Marketing: segments, journeys.", no_args_is_help=True)
app.add_typer(segments_app, name="segments")
app.add_typer(journeys_app, name="journeys")
