"""How CLI commands reach the database: ``--db URL`` or settings.

The CLI root (``omniretail.commands``) puts a ``CliRoot`` in the Typer context object
(``ctx.obj``); commands build their runtime through it, so this kit never imports the
composition root."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from omniretail.db.encrypted import check_keyring
from omniretail.kernel.keys import KeyringError
from omniretail.kernel.vault import vault_for
from omniretail.runtime import Runtime
from omniretail.settings import Settings

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (default: OMNIRETAIL_DATABASE_URL or the embedded SQLite file)"
    ),
]
"""The ``--db URL`` option of every command that opens the database (``open_container(db)``)."""


@dataclass(frozen=True)
class CliRoot:
    """What the CLI root hands every command: ``build`` makes the runtime from settings (it
    is called only by commands that need the database); ``serve`` serves the HTTP API and
    the console on a runtime ``build`` made."""

    build: Callable[[Settings], Runtime]
    serve: Callable[[Runtime, str, int], None]


def cli_root() -> CliRoot:
    """The ``CliRoot`` of the running command (``ctx.obj``, inherited by sub-commands)."""
    ctx = _current_context()
    root: CliRoot | None = ctx.find_object(CliRoot) if ctx is not None else None
    if root is None:
        raise RuntimeError("no CliRoot in the Typer context: run commands through omniretail")
    return root


def _current_context() -> Any:
    """The running command's context (Typer 0.2x runs on its own copy of click, earlier
    versions on click itself)."""
    try:
        from typer._click import globals as click_globals
    except ImportError:  # pragma: no cover - older typer
        import click.globals as click_globals  # type: ignore[no-redef,unused-ignore]
    return click_globals.get_current_context(silent=True)


def open_container(
    db: str | None = None,
    *,
    migrate: bool = True,
    check: bool = True,
    processes: int | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Runtime:
    """The runtime for a command; a missing or wrong secret key ends the command with
    its message and exit code 2 (no traceback). ``processes``: at least this many processes
    share the database's connection budget (``serve --workers``), even if the
    ``db_processes`` setting says fewer. ``defaults``: values for settings the environment
    leaves unset, such as the demo's ``log_one_time_codes`` and its ``public_base_url``."""
    settings = Settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    unset = {k: v for k, v in (defaults or {}).items() if k not in settings.model_fields_set}
    if unset:  # what this command assumes where the environment says nothing
        settings = settings.model_copy(update=unset)
    if processes is not None:
        processes = max(processes, settings.db_processes)
        settings = settings.model_copy(update={"db_processes": processes})
    build = cli_root().build
    try:
        container = build(settings)
    except KeyringError as exc:
        refuse(exc)
    try:
        if migrate:
            container.migrate()
        if check:
            with container.read_uow() as uow:
                check_keyring(uow, vault_for(container.keyring))
    except KeyringError as exc:
        container.dispose()
        refuse(exc)
    return container


def refuse(exc: Exception) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(2) from None
