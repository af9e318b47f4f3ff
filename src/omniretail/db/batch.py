"""Writes that nothing reads back in the same transaction (the outbox, the audit row, ledger
movements, an order's lines), sent together when the unit of work commits.

On PostgreSQL they go as one statement: each write a data-modifying CTE of
``SELECT 1`` (``WITH w0 AS (INSERT ...), w1 AS (UPDATE ...) SELECT 1``): one round trip
whatever their number. The sub-statements run on one snapshot and in no set order, so a
batch never holds two writes to the same table where one is an UPDATE or DELETE (the batch
sends what it holds before taking the second), and a foreign key between two of them is
checked at the end of the statement, when both rows exist. On SQLite each write is sent in
turn (SQLite has no data-modifying CTE).

Rows go as one array per column (``INSERT ... SELECT FROM unnest(...)``): the statement text
is the same for 2 rows or 50, so SQLAlchemy compiles it once and the server keeps it prepared
(a multi-row VALUES is a new statement for every row count, compiled again on every call).
One row goes as scalars (``row_insert``): psycopg finds an array's type by inspecting its
elements, which cost more than the arrays saved for the commonest batch, one row a table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    Column,
    Delete,
    Engine,
    Executable,
    Insert,
    Table,
    TypeDecorator,
    Update,
    bindparam,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from omniretail.db.engine import sends_directly

_ROWS_STATEMENTS: dict[tuple[str, tuple[str, ...]], tuple[Insert, list[str]]] = {}
_ROW_STATEMENTS: dict[tuple[str, tuple[str, ...]], tuple[Insert, list[str]]] = {}
# The columns with a Python-side default a row of those columns lacks, by (table, columns).
_DEFAULTED: dict[tuple[str, tuple[str, ...]], tuple[Column[Any], ...]] = {}
# Statements built once and kept for the life of the process (``kept``), by id: ids of
# objects never freed are never reused, so they can key the batches built from them.
_KEPT: dict[int, Executable] = {}
# The batch statement for each sequence of kept statements (with which of them are
# counted): SQLAlchemy finds a compiled statement by a cache key it computes by walking the
# statement, which for a new batch object every commit cost more than a cached one's lookup.
_BATCHES: dict[tuple[tuple[int, bool], ...], Any] = {}
_MAX_BATCHES = 512
# Kept statements and batches of them compiled for PostgreSQL (psycopg): the SQL and its
# parameters' conversions, for a commit sent on the driver's connection (``_send_alone``).
_COMPILED: dict[tuple[tuple[int, bool], ...], tuple[Any, str, dict[str, Any]]] = {}


def kept(statement: Executable) -> Executable:
    """``statement`` (built once, at module level or in a cache that never lets go) marked
    as kept: a batch made only of kept statements is built once too."""
    _KEPT[id(statement)] = statement
    return statement


def _built_once(
    cache: dict[tuple[str, tuple[str, ...]], tuple[Insert, list[str]]],
    table: Table,
    columns: tuple[str, ...],
    build: Callable[[list[str]], Insert],
) -> tuple[Insert, list[str]]:
    """The insert ``build`` makes from its parameters' names (``<table>__<column>``), built
    once per (table, columns) and kept."""
    key = (table.name, columns)
    built = cache.get(key)
    if built is None:
        names = [f"{table.name}__{c}" for c in columns]
        built = cache[key] = (build(names), names)
        kept(built[0])
    return built


def rows_insert(table: Table, rows: Sequence[dict[str, Any]]) -> tuple[Insert, dict[str, Any]]:
    """``INSERT INTO table (cols) SELECT * FROM unnest(:cols...)`` (PostgreSQL) for ``rows``
    (every row with the same keys) and its parameters, one array per column. The statement is
    built once per (table, columns)."""
    rows = [with_defaults(table, row) for row in rows]
    columns = tuple(rows[0])

    def build(names: list[str]) -> Insert:
        arrays = [
            bindparam(name, type_=ListArray(table.c[c].type))
            for name, c in zip(names, columns, strict=True)
        ]
        source = (
            func.unnest(*arrays)
            .table_valued(*columns, with_ordinality="n")
            .render_derived(name="u")
        )
        return insert(table).from_select(
            list(columns),
            select(*(source.c[c] for c in columns)).order_by(source.c.n),
            include_defaults=False,
        )

    stmt, names = _built_once(_ROWS_STATEMENTS, table, columns, build)
    params = {name: [row[c] for row in rows] for name, c in zip(names, columns, strict=True)}
    return stmt, params


class ListArray(TypeDecorator[list[Any]]):
    """``ARRAY(item)`` for a parameter that is always a list of one dimension: when its items
    need no conversion the list goes to the driver as it is. SQLAlchemy's ARRAY copies every
    array parameter item by item on each execution even then (a batch binds one array per
    column of every table in it). Items that do need one (JSON, a ``TypeDecorator``) keep
    ARRAY's conversion."""

    impl = ARRAY
    cache_ok = True

    def __init__(self, item_type: TypeEngine[Any]) -> None:
        super().__init__(item_type)

    def bind_processor(self, dialect: Dialect) -> Any:
        array: Any = self.impl_instance
        if array.item_type.dialect_impl(dialect).bind_processor(dialect) is None:
            return None
        return array.dialect_impl(dialect).bind_processor(dialect)


def row_insert(table: Table, row: dict[str, Any]) -> tuple[Insert, dict[str, Any]]:
    """``INSERT INTO table (cols) SELECT :cols`` for one row (named as ``rows_insert``
    names its arrays) and its parameters: built once per (table, columns) like
    ``rows_insert``, and its values go as scalars, not one-element arrays, which psycopg
    would inspect element by element to find their type."""
    row = with_defaults(table, row)
    columns = tuple(row)

    def build(names: list[str]) -> Insert:
        # INSERT ... SELECT: SQLAlchemy adds no RETURNING of the key (no answer is read in
        # the pipeline with COMMIT).
        values = [bindparam(n, type_=table.c[c].type) for n, c in zip(names, columns, strict=True)]
        return insert(table).from_select(list(columns), select(*values), include_defaults=False)

    stmt, names = _built_once(_ROW_STATEMENTS, table, columns, build)
    return stmt, {name: row[c] for name, c in zip(names, columns, strict=True)}


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of one table now, in one statement SQLAlchemy compiles once: one row as itself;
    several as arrays (PostgreSQL, ``rows_insert``) or an executemany (SQLite, one call)."""
    if not rows:
        return
    if len(rows) == 1:
        session.execute(insert(table), dict(rows[0]))
    elif session.get_bind().dialect.name == "postgresql":
        statement, params = rows_insert(table, rows)
        session.execute(statement, params)
    else:
        session.execute(insert(table), [dict(r) for r in rows])


def with_defaults(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with the columns' Python-side defaults filled in: an INSERT inside a CTE gets
    none of them from SQLAlchemy (a missing one would be NULL). Which columns those are is
    found once per (table, columns given)."""
    key = (table.name, tuple(row))
    missing = _DEFAULTED.get(key)
    if missing is None:
        missing = _DEFAULTED[key] = tuple(
            c for c in table.c if c.name not in row and c.default is not None and not c.primary_key
        )
    if not missing:
        return row
    filled = dict(row)
    for column in missing:
        default: Any = column.default
        if default.is_scalar:
            filled[column.name] = default.arg
        elif default.is_callable:
            filled[column.name] = default.arg(None)
    return filled


class _Rows:
    """Rows collected for one INSERT (built when the batch is sent)."""

    def __init__(self, table: Table, rows: list[dict[str, Any]]) -> None:
        self.table = table
        self.rows = rows


Check = Callable[[int], None]
Params = dict[str, Any] | list[dict[str, Any]] | None
Write = tuple[Executable | _Rows, Params, str, Check | None]
Built = tuple[Executable, Params, str, Check | None]


class WriteBatch:
    """What a unit of work sends at commit (see the module's docstring)."""

    def __init__(self) -> None:
        self._writes: list[Write] = []
        self._tables: dict[str, bool] = {}  # table -> holds an UPDATE or DELETE
        self._rows: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}

    def __bool__(self) -> bool:
        return bool(self._writes)

    def clear(self) -> None:
        self._writes = []
        self._tables = {}
        self._rows = {}

    def add(
        self,
        session: Session,
        statement: Executable,
        params: dict[str, Any] | None = None,
        *,
        check: Check | None = None,
    ) -> None:
        """One single-row statement (an INSERT of one row, an UPDATE, a DELETE) with its named
        parameters (or none: values bound in the statement). ``check`` (for a statement with
        RETURNING) is called with the number of rows it returned, before the commit: raising
        there rolls the whole unit of work back."""
        table = _table_of(statement)
        changes = isinstance(statement, Update | Delete)
        if table in self._tables and (changes or self._tables[table]):
            self.send(session)
        self._tables[table] = self._tables.get(table, False) or changes
        self._writes.append((statement, params, table, check))

    def add_rows(self, session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Rows of one table (every row with the same keys). Rows for a table and columns
        already in the batch join them (one INSERT however many ledger rows a bulk change
        writes)."""
        if not rows:
            return
        if self._tables.get(table.name):  # an UPDATE or DELETE of the table is pending
            self.send(session)
        key = (table.name, tuple(rows[0]))
        pending = self._rows.get(key)
        if pending is not None:
            pending.extend(dict(r) for r in rows)
            return
        self._rows[key] = collected = [dict(r) for r in rows]
        self._tables.setdefault(table.name, False)
        self._writes.append((_Rows(table, collected), None, table.name, None))

    def send(self, session: Session) -> None:
        self._send(session, answered=True)

    def send_and_commit(self, session: Session) -> None:
        """Sends what the batch holds and commits, in one round trip on PostgreSQL when no
        write is checked: the batch and COMMIT go together in a psycopg pipeline, so a row
        the transaction locked earlier (a hot SKU's stock row) is held for one round trip
        less. Any error (the batch's or COMMIT's) comes back as SQLAlchemy's, nothing
        committed; the session's own commit that follows finds the transaction closed."""
        bind = session.get_bind()
        postgres = bind.dialect.name == "postgresql"
        if not postgres or not self._writes or any(w[3] is not None for w in self._writes):
            self.send(session)
            session.commit()
            return
        if (
            isinstance(bind, Engine)
            and not session.in_transaction()
            and sends_directly(bind)
            and all(id(w[0]) in _KEPT or isinstance(w[0], _Rows) for w in self._writes)
        ):
            self._send_alone(bind)
            return
        connection = session.connection()
        driver: Any = connection.connection.driver_connection
        try:
            with driver.pipeline():  # one Sync for both (driver.commit() would add one)
                self._send(session, answered=False)
                _commit_in_pipeline(driver)
        except driver.Error as exc:
            raise DBAPIError.instance(
                "COMMIT (pipelined with the batch)", None, exc, type(driver).Error
            ) from exc
        session.commit()

    def _send_alone(self, engine: Engine) -> None:
        """The batch and COMMIT on a pooled connection of the driver's own, for a unit of work
        whose session never began (nothing but these writes): one round trip, without the
        Session's transaction or SQLAlchemy's execution around a statement compiled once.
        Errors come back as SQLAlchemy's, as ``send_and_commit``'s do."""
        writes, self._writes, self._tables, self._rows = self._writes, [], {}, {}
        sql, values = _sql_and_values(engine, [_built(write, True) for write in writes])
        fairy = engine.raw_connection()
        driver: Any = fairy.driver_connection
        try:
            with driver.pipeline():
                cursor = driver.cursor()
                # the listeners (the statement counter) see it; there is no Connection
                engine.dispatch.before_cursor_execute(None, cursor, sql, values, None, False)
                cursor.execute(sql, values)
                _commit_in_pipeline(driver)
        except driver.Error as exc:
            raise _refusal(engine, driver, exc, sql, values, fairy.invalidate) from exc
        finally:
            fairy.close()

    def _send(self, session: Session, *, answered: bool) -> None:
        """``answered``: read the batch's answer (False inside a pipeline, where it comes
        with the COMMIT's; only for a batch without checks)."""
        writes, self._writes, self._tables, self._rows = self._writes, [], {}, {}
        if not writes:
            return
        connection = session.connection()
        postgres = session.get_bind().dialect.name == "postgresql"
        built = [_built(write, postgres) for write in writes]
        if not postgres or len(built) == 1:
            for statement, params, _table, check in built:
                result = connection.execute(statement, params)
                if check is not None:
                    check(len(result.all()))
            return
        checks = [check for _s, _p, _t, check in built if check is not None]
        if all(id(statement) in _KEPT for statement, _p, _t, _c in built):
            row = _send_compiled(connection, built, answered=answered)
        else:
            result = connection.execute(_batch_statement(built), _merged(built))
            row = result.one() if answered else None
        if row is None:
            return
        for check, value in zip(checks, row, strict=False):
            check(int(value))


def _commit_in_pipeline(driver: Any) -> None:
    """COMMIT after the batch in its pipeline, never prepared: psycopg records a statement as
    prepared when it queues the PREPARE, so a PREPARE queued behind a refused batch (skipped
    by the server) stayed recorded, and every later COMMIT on that connection failed with
    "prepared statement does not exist" (psycopg's own rollback forgets them all; ours keeps
    them, ``db.pg_connection``)."""
    driver.execute("COMMIT", prepare=False)


def _send_compiled(connection: Any, built: list[Built], *, answered: bool) -> Any:
    """A batch of kept statements on the transaction's own driver connection, compiled once
    (``_compiled``): SQLAlchemy's execution around it (the statement's cache key, its
    parameters matched to the cached compilation, a cursor wrapper) cost as much CPU as the
    driver's. The statement counter sees it; errors come back as SQLAlchemy's. Returns the
    batch's one row (its checks' counts), or None when not ``answered``."""
    engine = connection.engine
    sql, values = _sql_and_values(engine, built)
    driver: Any = connection.connection.driver_connection
    cursor = driver.cursor()
    engine.dispatch.before_cursor_execute(connection, cursor, sql, values, None, False)
    try:
        cursor.execute(sql, values)
        return cursor.fetchone() if answered else None
    except driver.Error as exc:
        raise _refusal(engine, driver, exc, sql, values, connection.invalidate) from exc


def _sql_and_values(engine: Engine, built: list[Built]) -> tuple[str, dict[str, Any]]:
    """The batch's SQL, compiled once (``_compiled``), and its parameters as the driver takes
    them."""
    compiled, sql, processors = _compiled(engine, built)
    values = compiled.construct_params(_merged(built))
    for name, process in processors.items():
        values[name] = process(values[name])
    return sql, values


def _refusal(
    engine: Engine,
    driver: Any,
    exc: Any,
    sql: str,
    values: dict[str, Any],
    invalidate: Callable[[BaseException], None],
) -> Exception:
    """The driver's error as SQLAlchemy's (an IntegrityError stays one), the connection
    invalidated (``invalidate``) when the error says it is gone."""
    gone = engine.dialect.is_disconnect(exc, driver, None)
    if gone:
        invalidate(exc)
    error: Exception = DBAPIError.instance(
        sql, values, exc, type(driver).Error, connection_invalidated=gone
    )
    return error


def _merged(built: list[Built]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for _statement, params, _table, _check in built:
        assert isinstance(params, dict | None), "multi-row parameters are SQLite's"
        for name, value in (params or {}).items():
            assert name not in merged, f"parameter {name} twice in one batch"
            merged[name] = value
    return merged


def _compiled(engine: Engine, built: list[Built]) -> tuple[Any, str, dict[str, Any]]:
    """The batch of kept statements (or the one) compiled for ``engine``'s dialect, once."""
    key = tuple((id(statement), check is not None) for statement, _p, _t, check in built)
    found = _COMPILED.get(key)
    if found is None:
        statement: Any = built[0][0] if len(built) == 1 else _batch_statement(built)
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        processors = {
            name: process
            for name, bind in compiled.binds.items()
            if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        if len(_COMPILED) >= _MAX_BATCHES:
            _COMPILED.clear()
        found = _COMPILED[key] = (compiled, compiled.string, processors)
    return found


def _batch_statement(built: list[Built]) -> Any:
    """``WITH w0 AS (...), w1 AS (...) SELECT <the counted ones' row counts, or 1>``; kept
    for the next commit when every write is a kept statement."""
    key = tuple((id(statement), check is not None) for statement, _p, _t, check in built)
    reusable = all(id(statement) in _KEPT for statement, _p, _t, _c in built)
    if reusable and (found := _BATCHES.get(key)) is not None:
        return found
    ctes = []
    counts: list[Any] = []
    for i, (statement, _params, _table, check) in enumerate(built):
        cte = statement.cte(f"w{i}")  # type: ignore[attr-defined]
        ctes.append(cte)
        if check is not None:
            counts.append(select(func.count()).select_from(cte).scalar_subquery())
    statement = select(*(counts or [literal_column("1")])).add_cte(*ctes)
    if reusable:
        if len(_BATCHES) >= _MAX_BATCHES:
            _BATCHES.clear()
        _BATCHES[key] = statement
    return statement


def _built(write: Write, postgres: bool) -> Built:
    statement, params, table, check = write
    if not isinstance(statement, _Rows):
        return statement, params, table, check
    if postgres and len(statement.rows) == 1:
        built, values = row_insert(statement.table, statement.rows[0])
        return built, values, table, check
    if postgres:
        built, arrays = rows_insert(statement.table, statement.rows)
        return built, arrays, table, check
    if len(statement.rows) == 1:
        return insert(statement.table), statement.rows[0], table, check
    return insert(statement.table), statement.rows, table, check


def _table_of(statement: Executable) -> str:
    table = getattr(statement, "table", None)
    return str(getattr(table, "name", table))
