"""How many PostgreSQL connections one process may hold, and how its pools split them.

Every process that shares the server (API workers, relays, job workers) takes an equal share
of what the server lets ordinary clients open::

    usable = max_connections - superuser_reserved_connections - reserved_connections
             - db_reserved_connections          (ours: psql, migrations, monitoring)
    share  = db_max_connections or usable // db_processes
    listener = 1 if auth_cache_seconds > 0 and share >= 3 and (not behind PgBouncer, or
               database_direct_url is set), else 0
    total  = min(db_pool_size, share - listener)  (all pools of one process)

The listener is the principal cache's LISTEN connection (``db.notify``), outside the pools.
Behind PgBouncer it goes to ``database_direct_url`` (PostgreSQL itself: PgBouncer cannot
LISTEN in transaction pooling), so it takes one of PostgreSQL's connections per process, not
one of PgBouncer's: ``total`` is then not reduced for it.

A configured ``db_max_connections`` that does not fit (``processes * it > usable``) is refused
at start. Pools never overflow: a request that finds them busy queues for up to
``db_pool_timeout_seconds`` and then gets a 503 problem with Retry-After. See
docs/operations.md#connections.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from omniretail.settings import Settings


class ConnectionBudgetError(RuntimeError):
    """The configured pools do not fit in what the PostgreSQL server allows."""


@dataclass(frozen=True)
class ServerLimits:
    max_connections: int
    reserved: int  # superuser_reserved_connections (+ reserved_connections on PostgreSQL 16+)

    @property
    def available(self) -> int:
        return self.max_connections - self.reserved


@dataclass(frozen=True)
class PoolPlan:
    """Pool sizes of one process. On PostgreSQL reads share the write pool, so the API lets at
    most ``read_slots`` reads and ``threads`` sync endpoints run at once, and
    ``read_slots + threads <= write``: no request thread waits on the pool for a connection
    another request holds while it waits for a thread."""

    write: int
    relaxed: int  # 0: no separate pool (SQLite)
    read_slots: int
    threads: int
    timeout: float
    share: int | None = None  # the budget this process was given (PostgreSQL)
    listener: int = 0  # 1: a LISTEN connection beside the pools (the principal cache)

    @property
    def total(self) -> int:
        return self.write + self.relaxed


_limits_cache: dict[str, ServerLimits] = {}
_limits_lock = threading.Lock()


def read_server_limits(url: str) -> ServerLimits:
    """``SHOW max_connections`` and the reserved slots, once per URL and process."""
    with _limits_lock:
        cached = _limits_cache.get(url)
        if cached is not None:
            return cached
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            max_connections = int(conn.execute(text("SHOW max_connections")).scalar_one())
            reserved = int(conn.execute(text("SHOW superuser_reserved_connections")).scalar_one())
            version = conn.dialect.server_version_info or (0,)
            if version >= (16,):
                reserved += int(conn.execute(text("SHOW reserved_connections")).scalar_one())
    finally:
        engine.dispose()
    limits = ServerLimits(max_connections=max_connections, reserved=reserved)
    with _limits_lock:
        _limits_cache[url] = limits
    return limits


def plan_pools(settings: Settings, limits: ServerLimits | None, *, postgres: bool) -> PoolPlan:
    """The pools of one process. ``limits``: the server's (None on SQLite, and behind
    PgBouncer, whose own limits apply; the share is then db_max_connections)."""
    timeout = settings.db_pool_timeout_seconds
    if not postgres:
        size = max(1, settings.db_pool_size)
        # SQLite reads have a pool of their own (of the same size).
        return PoolPlan(
            write=size, relaxed=0, read_slots=max(1, size // 2), threads=size, timeout=timeout
        )
    if limits is None:
        share = settings.db_max_connections or settings.db_pool_size
    else:
        share = connection_share(settings, limits)
    can_listen = not settings.db_pgbouncer or bool(settings.database_direct_url)
    listener = 1 if settings.auth_cache_seconds > 0 and can_listen and share >= 3 else 0
    in_share = 0 if settings.db_pgbouncer else listener
    total = max(2, min(settings.db_pool_size, share - in_share))
    relaxed = max(1, total // 5)
    write = total - relaxed
    read_slots = max(1, write // 2)
    threads = max(1, write - read_slots)
    return PoolPlan(
        write=write,
        relaxed=relaxed,
        read_slots=read_slots,
        threads=threads,
        timeout=timeout,
        share=share,
        listener=listener,
    )


def connection_share(settings: Settings, limits: ServerLimits) -> int:
    processes = max(1, settings.db_processes)
    usable = limits.available - settings.db_reserved_connections
    where = (
        f"the server allows {limits.available} client connections (max_connections"
        f" {limits.max_connections} - {limits.reserved} reserved), less"
        f" {settings.db_reserved_connections} kept free (OMNIRETAIL_DB_RESERVED_CONNECTIONS)"
    )
    if settings.db_max_connections is not None:
        wanted = settings.db_max_connections * processes
        if wanted > usable:
            raise ConnectionBudgetError(
                f"{processes} processes x {settings.db_max_connections} connections"
                " (OMNIRETAIL_DB_PROCESSES x OMNIRETAIL_DB_MAX_CONNECTIONS)"
                f" = {wanted}, but {where} = {usable}. Lower them, raise max_connections,"
                " or put PgBouncer in front (docs/operations.md#connections)."
            )
        return settings.db_max_connections
    share = usable // processes
    if share < 2:
        raise ConnectionBudgetError(
            f"{processes} processes (OMNIRETAIL_DB_PROCESSES) cannot share {usable} connections"
            f" ({where}): each needs at least 2. Run fewer processes, raise max_connections,"
            " or put PgBouncer in front (docs/operations.md#connections)."
        )
    return share
