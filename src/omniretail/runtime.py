"""What the kits (``api``, ``cli``), the console and the domains' adapters use of the
composition root, as a typed interface: they import this, never ``bootstrap``.

``bootstrap.Container`` satisfies it (mypy checks so where ``app`` and ``commands`` hand the
container over). Nothing here names a domain: domain-typed members of the container (the
payment provider) are reached through their own accessors (``app.state``).

It imports only ``db``, ``kernel`` and ``settings``: ``jobs`` and ``messaging`` carry their own
HTTP and CLI adapters built on the kits, so the outbox relay and the job worker appear here as
the small protocols their CLIs use (``messaging.relay.Relay`` and ``jobs.runner.JobRunner``
satisfy them). The registries (handlers, job kinds, senders) are the composition root's own
business: the edges use them on the ``Container``."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine

from omniretail.db.budget import PoolPlan
from omniretail.db.engine import StatementCounter
from omniretail.db.uow import ReadCache, UnitOfWork
from omniretail.kernel.clock import Clock
from omniretail.kernel.keys import Keyring
from omniretail.settings import Settings


class RelayFigures(Protocol):
    """What one relay pass did (``messaging.relay.RelayReport``)."""

    delivered: int
    skipped: int
    retried: int
    dead: int
    published: int


class OutboxRelay(Protocol):
    """Delivers the outbox's events to their handlers (``messaging.relay.Relay``)."""

    def run_until_idle(self) -> RelayFigures: ...

    def run_forever(self, interval: float) -> None: ...


class JobWorker(Protocol):
    """Runs durable jobs (``jobs.runner.JobRunner``)."""

    def run_until_idle(self) -> int: ...

    def run_forever(self, interval: float) -> None: ...


class Runtime(Protocol):
    """The process's database, clock, keys and background machinery."""

    settings: Settings
    engine: Engine
    read_engine: Engine
    clock: Clock
    counter: StatementCounter
    pools: PoolPlan
    cache: ReadCache
    keyring: Keyring

    def uow(self, *, durable: bool = True) -> UnitOfWork:
        """A unit of work for a use case that may write (``durable=False``: see bootstrap)."""
        ...

    def read_uow(self) -> UnitOfWork:
        """A unit of work for reads."""
        ...

    def replica_uow(self) -> UnitOfWork:
        """A unit of work for reads that may lag (the read replica when one is set)."""
        ...

    @property
    def replica_read_engine(self) -> Engine:
        """The engine behind ``replica_uow``."""
        ...

    @property
    def reads_autocommit(self) -> bool: ...

    @property
    def replica_reads_autocommit(self) -> bool: ...

    @property
    def backend(self) -> str: ...

    def migrate(self) -> None: ...

    def relay(self) -> OutboxRelay: ...

    def job_runner(self) -> JobWorker: ...

    def dispose(self) -> None: ...
