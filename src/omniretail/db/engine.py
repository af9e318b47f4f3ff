"""Engines for the embedded SQLite default and for PostgreSQL (psycopg 3)."""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from weakref import WeakSet

from psycopg import _queries as psycopg_queries
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from omniretail.db import pg_arrays
from omniretail.db.pg_connection import KeepsPreparedStatements


@dataclass
class StatementCounter:
    """Counts SQL statements sent to the database (benchmarks read it through /metrics)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _value: int = 0

    def increment(self) -> None:
        with self._lock:
            self._value += 1

    @property
    def value(self) -> int:
        return self._value


# Set per HTTP request by the Server-Timing middleware (a one-element list it reads back):
# the statements that request sent. Threadpool endpoints run in a copy of the request's
# context, so they count into the same list.
request_statements: ContextVar[list[int] | None] = ContextVar("request_statements", default=None)


# PostgreSQL engines whose connections need nothing run at BEGIN or per statement beyond the
# listeners' before_cursor_execute: a commit batch may go on one of their pooled DBAPI
# connections directly (``db.batch``), not through a Session and Connection.
_DIRECT: WeakSet[Engine] = WeakSet()


def sends_directly(engine: Engine) -> bool:
    return engine in _DIRECT


def normalise_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalise_url(url)).get_backend_name() == "sqlite"


def make_engine(
    url: str,
    *,
    schema: str | None = None,
    pool_size: int = 40,
    pool_timeout: float = 30.0,
    immediate: bool = True,
    synchronous_commit: bool = True,
    pgbouncer: bool = False,
    read_only: bool = False,
    counter: StatementCounter | None = None,
) -> Engine:
    """Build an engine whose pool holds at most ``pool_size`` connections (no overflow): a
    caller finding them all busy waits up to ``pool_timeout`` seconds, then gets SQLAlchemy's
    ``TimeoutError`` (a 503 problem). On SQLite ``immediate`` makes every transaction take the
    write lock at BEGIN, so two writers never deadlock upgrading a read lock; read-only engines
    pass False. On PostgreSQL ``synchronous_commit=False`` makes the pool's connections commit
    without waiting for the WAL flush (for cart holds only: ``Container.uow(durable=False)``).
    ``pgbouncer``: transaction pooling, so no prepared statements and no startup options
    (synchronous_commit is then set per transaction; a schema comes from the role's
    search_path). ``read_only`` (PostgreSQL; a read replica's engine): every transaction is
    read-only, so a write through it fails (SQLSTATE 25006) instead of landing: through the
    connection's ``default_transaction_read_only``, or behind PgBouncer (no startup options,
    and a session ``SET`` would leak to other clients) as ``BEGIN READ ONLY``."""
    url = normalise_url(url)
    kwargs: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": 0,
        "pool_timeout": pool_timeout,
        # The connection given back last is handed out next: under a steady load the same few
        # stay warm (their prepared statements planned), the rest stay idle.
        "pool_use_lifo": True,
    }
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, immediate=immediate)
    else:
        connect_args: dict[str, Any] = {}
        options = [f"-c search_path={schema}"] if schema else []
        if not synchronous_commit and not pgbouncer:
            options.append("-c synchronous_commit=off")
        if read_only and not pgbouncer:
            options.append("-c default_transaction_read_only=on")
        if pgbouncer:
            if schema:
                raise ValueError(
                    "database_schema is not supported behind PgBouncer (transaction pooling"
                    " drops startup options): set the role's search_path instead"
                )
            connect_args["prepare_threshold"] = None
        else:
            connect_args["prepare_threshold"] = PREPARE_THRESHOLD
        if options:
            connect_args["options"] = " ".join(options)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _cache_batch_conversions()
        event.listen(
            engine, "connect", lambda dbapi_connection, _record: pg_arrays.install(dbapi_connection)
        )
        _wait_for_free_slot(engine, pool_timeout)
        if pgbouncer and not synchronous_commit:
            _relax_each_transaction(engine)
        if pgbouncer and read_only:
            # psycopg opens each transaction with BEGIN READ ONLY (no extra round trip).
            engine = engine.execution_options(postgresql_readonly=True)
        if not pgbouncer and not read_only:
            _DIRECT.add(engine)
    if counter is not None:
        _count_statements(engine, counter)
    return engine


# "FATAL: sorry, too many clients already" and "remaining connection slots are reserved":
# the server is full (other clients hold its connections). Not an error for one request.
_SERVER_FULL = ("too many clients", "remaining connection slots are reserved")
_SERVER_FULL_SQLSTATE = "53300"


# psycopg turns a statement's ``%(name)s`` placeholders into ``$n`` with a regular expression,
# and caches the result only for statements of at most 4,096 bytes and 50 parameters. A commit
# batch (``db.batch``) is longer (a checkout's: 7 kB, 70 parameters), yet its text is one of a
# few, so it was parsed again on every commit. The cache stays bounded (128 entries).
BATCH_STATEMENT_BYTES = 32_768
BATCH_STATEMENT_PARAMETERS = 400


def _cache_batch_conversions() -> None:
    queries: Any = psycopg_queries
    queries.MAX_CACHED_STATEMENT_LENGTH = max(
        queries.MAX_CACHED_STATEMENT_LENGTH, BATCH_STATEMENT_BYTES
    )
    queries.MAX_CACHED_STATEMENT_PARAMS = max(
        queries.MAX_CACHED_STATEMENT_PARAMS, BATCH_STATEMENT_PARAMETERS
    )


# psycopg sends a statement's first ``prepare_threshold`` calls on a connection unprepared
# (parsed and planned each time; 5 by default), then PostgreSQL plans five custom plans
# before the generic one: each pooled connection planned each hot statement ten times.
# Prepared from the second call, a one-off statement is still sent unprepared.
PREPARE_THRESHOLD = 1
# Statements a connection keeps prepared (psycopg's default: 100, least recently used out).
PREPARED_MAX = 200


def _wait_for_free_slot(engine: Engine, timeout: float) -> None:
    """Opening a connection on a full server waits (up to ``timeout``) for a slot to free up,
    like a busy pool, instead of failing the request at once."""

    @event.listens_for(engine, "do_connect")
    def on_connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        deadline = time.monotonic() + timeout
        pause = 0.05
        while True:
            try:
                connection = KeepsPreparedStatements.connect(*cargs, **cparams)
                if connection.prepare_threshold is not None:
                    connection.prepared_max = PREPARED_MAX
                return connection
            except dialect.loaded_dbapi.OperationalError as exc:
                if not server_is_full(exc) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def server_is_full(exc: BaseException) -> bool:
    if getattr(exc, "sqlstate", None) == _SERVER_FULL_SQLSTATE:
        return True
    message = str(exc)
    return any(text in message for text in _SERVER_FULL)


def _relax_each_transaction(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def _configure_sqlite(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # Through SQLAlchemy, so a lock wait past the busy timeout surfaces as its
        # OperationalError (a 503 problem), not a raw sqlite3 error.
        connection.exec_driver_sql(begin)


def _count_statements(engine: Engine, counter: StatementCounter) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):
            return  # transaction control, as PostgreSQL's implicit BEGIN is not counted
        counter.increment()
        in_request = request_statements.get()
        if in_request is not None:
            in_request[0] += 1
