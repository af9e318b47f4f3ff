"""``omniretail support ...`` (mounted by ``commands``): the assistant's model commands are in
``assistant_cli.py``."""

from __future__ import annotations

import typer

from omniretail.support.assistant_cli import app as assistant_app

app = typer.Typer(help="Customer service.", no_args_is_help=True)
app.add_typer(assistant_app, name="assistant")
