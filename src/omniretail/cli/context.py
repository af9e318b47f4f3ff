"""How CLI commands reach the database: ``--db URL`` or settings."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from omniretail.bootstrap import Container, build_container
from omniretail.db.encrypted import check_keyring
from omniretail.kernel.keys import KeyringError
from omniretail.kernel.vault import vault_for
from omniretail.settings import Settings


def open_container(
    db: str | None = None,
    *,
    migrate: bool = True,
    check: bool = True,
    processes: int | None = None,
) -> Container:
    """The container for a command; a missing or wrong secret key ends the command with
    its message and exit code 2 (no traceback). ``processes``: at least this many processes
    share the database's connection budget (``serve --workers``), even if the
    ``db_processes`` setting says fewer."""
    settings = Settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    if processes is not None:
        processes = max(processes, settings.db_processes)
        settings = settings.model_copy(update={"db_processes": processes})
    try:
        container = build_container(settings)
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
