"""How CLI commands reach the database: ``--db URL`` or settings."""

from __future__ import annotations

from omniretail.bootstrap import Container, build_container
from omniretail.settings import Settings


def open_container(
    db: str | None = None, *, migrate: bool = True, processes: int | None = None
) -> Container:
    """``processes``: at least this many processes share the database's connection budget
    (``serve --workers``), even if the ``db_processes`` setting says fewer."""
    settings = Settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    if processes is not None:
        processes = max(processes, settings.db_processes)
        settings = settings.model_copy(update={"db_processes": processes})
    container = build_container(settings)
    if migrate:
        container.migrate()
    return container
