"""Composition root: builds engines, the unit-of-work factory and the clock from settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from omniretail.db import migrate
from omniretail.db.engine import StatementCounter, is_sqlite, make_engine
from omniretail.db.uow import ReadCache, UnitOfWork
from omniretail.kernel.clock import Clock, SystemClock
from omniretail.settings import Settings


@dataclass
class Container:
    settings: Settings
    engine: Engine
    read_engine: Engine
    clock: Clock
    counter: StatementCounter
    cache: ReadCache = field(default_factory=ReadCache)

    def __post_init__(self) -> None:
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    def uow(self) -> UnitOfWork:
        """A unit of work for a use case that may write."""
        return UnitOfWork(self._sessions, self.clock, self.settings.event_source, self.cache)

    def read_uow(self) -> UnitOfWork:
        """A unit of work for reads; on SQLite it does not take the write lock."""
        return UnitOfWork(self._read_sessions, self.clock, self.settings.event_source, self.cache)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        migrate.upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def build_container(settings: Settings | None = None, clock: Clock | None = None) -> Container:
    settings = settings or Settings()
    url = settings.resolved_database_url()
    counter = StatementCounter()
    engine = make_engine(
        url, schema=settings.database_schema, pool_size=settings.db_pool_size, counter=counter
    )
    read_engine = (
        make_engine(url, pool_size=settings.db_pool_size, immediate=False, counter=counter)
        if is_sqlite(url)
        else engine
    )
    return Container(
        settings=settings,
        engine=engine,
        read_engine=read_engine,
        clock=clock or SystemClock(),
        counter=counter,
    )
