"""The query plan of a statement a piece of code sends, for tests that a read takes an index."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from omniretail.bootstrap import Container
from omniretail.db.uow import UnitOfWork


def plan_of(
    container: Container, backend: str, table: str, run: Callable[[UnitOfWork], Any]
) -> list[str]:
    """The plan of the one statement naming ``table`` that ``run`` sends in a read unit of work:
    SQLite's ``EXPLAIN QUERY PLAN`` details as its planner chooses; PostgreSQL's ``EXPLAIN``
    lines (stripped) with sequential scans ruled out, as its choice on a test's handful of rows
    follows its statistics, not the index the read needs on a large table."""
    ran: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, sql: str, params: Any, *_rest: Any) -> None:
        if table in sql:
            ran.append((sql, params))

    with container.read_uow() as uow:
        engine = uow.session.get_bind()
        event.listen(engine, "before_cursor_execute", remember)
        try:
            run(uow)
        finally:
            event.remove(engine, "before_cursor_execute", remember)
    [(sql, params)] = ran
    with container.engine.begin() as conn:
        if backend == "sqlite":
            return [str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return [str(r[0]).strip() for r in conn.exec_driver_sql(f"EXPLAIN {sql}", params)]
