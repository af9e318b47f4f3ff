"""Unit of work: one transaction per use case, events written to the outbox inside it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Executable, Table
from sqlalchemy.orm import Session, sessionmaker

from omniretail.db.batch import WriteBatch
from omniretail.db.outbox import event_row, write_events
from omniretail.kernel.clock import Clock
from omniretail.kernel.events import DomainEvent, Event
from omniretail.kernel.keys import Keyring
from omniretail.kernel.limits import HoldCaps
from omniretail.kernel.vault import PiiVault, vault_for


class ReadCache:
    """Short-lived cache of slow-changing reference data (channel settings), one per database.

    Entries live ``ttl_seconds``; writers call ``invalidate`` in their own process."""

    def __init__(self, ttl_seconds: float = 5.0) -> None:
        self.ttl_seconds = ttl_seconds
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: str, value: Any) -> None:
        self._entries[key] = (time.monotonic() + self.ttl_seconds, value)

    def invalidate(self) -> None:
        self._entries.clear()


class UnitOfWork:
    """``with uow:`` commits on a clean exit and rolls back on an exception.

    Services receive the open unit of work, use ``uow.session`` and ``uow.now``, and call
    ``uow.record(event)``; they never commit.
    """

    session: Session
    now: datetime

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        event_source: str,
        cache: ReadCache | None = None,
        keyring: Keyring | None = None,
        hold_caps: HoldCaps | None = None,
    ) -> None:
        self._session_factory = session_factory
        self.keyring = keyring
        self.hold_caps = hold_caps or HoldCaps()
        self.cache = cache if cache is not None else ReadCache()
        self._clock = clock
        self._event_source = event_source
        self._events: list[DomainEvent] = []
        self._writes = WriteBatch()

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        self.now = self._clock.now()
        self._events = []
        self._writes = WriteBatch()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        finally:
            self.session.close()

    @property
    def vault(self) -> PiiVault:
        """Encrypts personal data kept outside the customer profile (orders, notifications)."""
        if self.keyring is None:
            raise RuntimeError("this unit of work was built without a key ring")
        return vault_for(self.keyring)

    def record(self, event: Event | DomainEvent) -> None:
        """Stores ``event`` in the outbox when this unit of work commits."""
        self._events.append(event.envelope() if isinstance(event, Event) else event)

    def outbox_row(self, event: Event) -> dict[str, Any]:
        """``event``'s outbox row as ``record`` would store it, for a statement that writes
        it itself (``inventory``'s reservation in one statement); not recorded here."""
        return event_row(event.envelope(), self._event_source, self.now)

    def later(
        self,
        statement: Executable,
        params: dict[str, Any] | None = None,
        *,
        check: Callable[[int], None] | None = None,
    ) -> None:
        """A write that nothing in this unit of work reads back (an UPDATE of one row, say),
        sent with the outbox at commit: on PostgreSQL all of them in one statement
        (``db.batch``). Give every value the statement needs (no Python-side default or
        ``onupdate`` is applied). ``check``: see ``WriteBatch.add``."""
        self._writes.add(self.session, statement, params, check=check)

    def later_rows(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Rows to insert at commit, like ``later`` (Python-side column defaults are filled
        in)."""
        self._writes.add_rows(self.session, table, rows)

    def write_now(self) -> None:
        """Sends the writes held for commit now, for a caller that reads them back in this
        unit of work (the outbox still waits for commit)."""
        self.session.flush()
        self._writes.send(self.session)

    def write_held(self) -> None:
        """``write_now`` if writes are held (a reader of rows that may be among them calls
        it first; nothing is sent, not even a flush, when none are)."""
        if self._writes:
            self.write_now()

    def commit(self) -> None:
        self.session.flush()  # rows added to the session first: a batched row may refer to them
        write_events(
            self.session, self._events, source=self._event_source, time=self.now, batch=self._writes
        )
        self._events = []
        self._writes.send_and_commit(self.session)

    def rollback(self) -> None:
        self._events = []
        self._writes.clear()
        self.session.rollback()
