"""What the kits (``api``, ``cli``), the console and the domains' adapters use of the
composition root, as a typed interface: they import this, never ``bootstrap``.

``bootstrap.Container`` satisfies it (mypy checks so where ``app`` and ``commands`` hand the
container over). Nothing here names a domain: domain-typed members of the container (the
payment provider) are reached through their own accessors (``app.state``)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine

from omniretail.db.budget import PoolPlan
from omniretail.db.engine import StatementCounter
from omniretail.db.uow import ReadCache, UnitOfWork
from omniretail.jobs.runner import JobKinds, JobRunner
from omniretail.kernel.clock import Clock
from omniretail.kernel.keys import Keyring
from omniretail.messaging.handlers import HandlerRegistry
from omniretail.messaging.relay import Relay
from omniretail.messaging.senders import Senders
from omniretail.settings import Settings


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
    senders: Senders
    handlers: HandlerRegistry
    job_kinds: JobKinds

    def uow(self, *, durable: bool = True) -> UnitOfWork:
        """A unit of work for a use case that may write (``durable=False``: see bootstrap)."""
        ...

    def read_uow(self) -> UnitOfWork:
        """A unit of work for reads."""
        ...

    @property
    def reads_autocommit(self) -> bool: ...

    @property
    def backend(self) -> str: ...

    def migrate(self) -> None: ...

    def relay(self) -> Relay: ...

    def job_runner(self) -> JobRunner: ...

    def dispose(self) -> None: ...
