"""Dialect-specific SQL and row counts, shared by every repository (one copy, not one per domain).

- ``rowcount(result)``: rows an UPDATE or DELETE touched (typed; no ``type: ignore``).
- ``is_postgres(session)``, ``insert_for(session)``: the dialect's INSERT with
  ``on_conflict_do_nothing`` / ``on_conflict_do_update``; ``insert_ignore`` for the common case.
- ``statement(session, name, build)``: a hot-path statement built once per dialect.
- ``matches(column, name, postgres)``: ``IN :name`` (``= ANY(:name)`` on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ARRAY, BigInteger, CursorResult, Result, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from omniretail.db.batch import kept

_STATEMENTS: dict[tuple[str, str], Any] = {}


def rowcount(result: Result[Any]) -> int:
    """Rows matched by the UPDATE or DELETE that gave ``result``."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} carries no row count")
    return int(result.rowcount)


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def is_postgres(session: Session) -> bool:
    return dialect_name(session) == "postgresql"


def insert_for(session: Session) -> Callable[..., Any]:
    """``postgresql.insert`` or ``sqlite.insert``: both have ``on_conflict_do_*``."""
    return postgresql.insert if is_postgres(session) else sqlite.insert


def insert_ignore(
    session: Session, model: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO NOTHING`` for ``rows``."""
    return insert_for(session)(model).values(list(rows)).on_conflict_do_nothing(index_elements=keys)


def statement(session: Session, name: str, build: Callable[[bool], Any]) -> Any:
    """A statement of a hot path, built once per dialect with named parameters
    (``build(postgres)``): SQLAlchemy caches the compiled form, but building a statement anew
    on every call costs more than running it."""
    key = (dialect_name(session), name)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        # kept: held for the life of the process, so a commit batch of them is built once
        stmt = _STATEMENTS[key] = kept(build(key[0] == "postgresql"))
    return stmt


def matches(column: Any, name: str, postgres: bool, element: Any = None) -> Any:
    """``column IN :name`` (a list). On PostgreSQL ``column = ANY(:name)``: one array
    parameter, so the statement text is the same however many values there are and the server
    keeps it prepared."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(element or BigInteger())))
    return column.in_(bindparam(name, expanding=True))


def among(session: Session, column: Any, values: Sequence[Any], element: Any = None) -> Any:
    """``column IN (values)``; on PostgreSQL ``column = ANY(array)``: one parameter, so a batch
    of 500 ids is not 500 placeholders to render and parse on every call."""
    if is_postgres(session):
        return column == any_(bindparam(None, list(values), type_=ARRAY(element or BigInteger())))
    return column.in_(list(values))
