"""``omniretail demo --reset``: which files make up the embedded demo database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from omniretail.settings import Settings

SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Embedded:
    database: Path
    secret_key: Path | None  # None: the key comes from the environment and is not ours


def embedded_database(settings: Settings) -> Embedded | None:
    """The embedded SQLite database, or None when a database URL is configured (a shared or
    chosen database is never deleted by the demo)."""
    if settings.database_url:
        return None
    keyed = settings.secret_key is not None or settings.secret_keys is not None
    return Embedded(
        database=Path(settings.data_dir) / "omniretail.db",
        secret_key=None if keyed else Path(settings.data_dir) / "secret.key",
    )


def files_to_delete(embedded: Embedded) -> list[Path]:
    """The database, its WAL/SHM/journal files and the generated secret key: with the data
    gone, nothing is left that the key protects."""
    db = embedded.database
    paths = [db, *(db.with_name(db.name + suffix) for suffix in SIDE_FILES)]
    if embedded.secret_key is not None:
        paths.append(embedded.secret_key)
    return [p for p in paths if p.exists()]


def describe(settings: Settings) -> str:
    """Where the demo's database lives, with any password hidden."""
    embedded = embedded_database(settings)
    if embedded is not None:
        return f"embedded SQLite file {embedded.database}"
    url = make_url(settings.resolved_database_url())
    shown = url.render_as_string(hide_password=True)
    if settings.database_schema:
        shown += f" (schema {settings.database_schema})"
    return shown
