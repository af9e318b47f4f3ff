"""How CLI commands reach the database: ``--db URL`` or settings."""

from __future__ import annotations

from omniretail.bootstrap import Container, build_container
from omniretail.settings import Settings


def open_container(db: str | None = None, *, migrate: bool = True) -> Container:
    settings = Settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    container = build_container(settings)
    if migrate:
        container.migrate()
    return container
