"""``omniretail marketing ...``"""

from __future__ import annotations

import typer

from omniretail.marketing.segments_cli import app as segments_app

app = typer.Typer(help="Marketing: segments.", no_args_is_help=True)
app.add_typer(segments_app, name="segments")
