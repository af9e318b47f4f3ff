"""Many rows into one table in one statement whatever their number: ``insert_rows``.

On PostgreSQL the rows go as one array per column, ``INSERT INTO t (a, b) SELECT a, b FROM
(SELECT unnest(:a) AS a, unnest(:b) AS b)``: the statement's text is the same for one row or
five thousand, so psycopg keeps its parse and the server its plan, where a multi-row
``VALUES`` of 500 rows x 20 columns is 10,000 placeholders that psycopg parses again on every
batch (it caches only short statements) and that cost more than the rows' writing. JSON
columns travel as text and are cast back. On SQLite: an executemany (SQLAlchemy's batched
multi-row INSERTs).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, JSON, Column, Table, Text, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator, TypeEngine

_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _is_json(column: Column[Any]) -> bool:
    kind: TypeEngine[Any] = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    return isinstance(kind, JSON)


def _postgres(
    table: Table, names: Sequence[str], conflict: Sequence[str] | None, returning: Sequence[str]
) -> Any:
    arrays = []
    for name in names:
        column = table.c[name]
        element = Text() if _is_json(column) else column.type
        arrays.append(func.unnest(bindparam(name, type_=ARRAY(element))).label(name))
    rows = select(*arrays).subquery("rows")
    values = [
        cast(rows.c[n], postgresql.JSONB) if _is_json(table.c[n]) else rows.c[n] for n in names
    ]
    stmt: Any = postgresql.insert(table).from_select(list(names), select(*values))
    if conflict is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict) or None)
    if returning:
        stmt = stmt.returning(*(table.c[n] for n in returning))
    return stmt


def insert_rows(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str] | None = None,
    returning: Sequence[str] = (),
) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys) into ``table``; ``conflict``: the unique
    columns of ``ON CONFLICT (...) DO NOTHING`` (``[]``: any conflict); ``returning``: the
    columns to return of each inserted row (a skipped row returns nothing; the order of the
    returned rows is not promised)."""
    if not rows:
        return []
    names = tuple(rows[0])
    postgres = session.get_bind().dialect.name == "postgresql"
    key = (postgres, table.fullname, names, tuple(conflict or ()), conflict is None, *returning)
    stmt = _STATEMENTS.get(key)
    connection = session.connection()
    if postgres:
        if stmt is None:
            stmt = _STATEMENTS[key] = _postgres(table, names, conflict, returning)
        json_columns = {n for n in names if _is_json(table.c[n])}
        params = {
            n: [
                None if r[n] is None else json.dumps(r[n]) if n in json_columns else r[n]
                for r in rows
            ]
            for n in names
        }
        result = connection.execute(stmt, params)
        return list(result) if returning else []
    if stmt is None:
        made: Any = sqlite.insert(table)
        if conflict is not None:
            made = made.on_conflict_do_nothing(index_elements=list(conflict) or None)
        if returning:  # RETURNING makes SQLAlchemy send many rows per statement
            made = made.returning(*(table.c[n] for n in returning))
        stmt = _STATEMENTS[key] = made
    result = connection.execute(stmt, list(rows))
    return list(result) if returning else []
