"""The transactional outbox: domain events written in the same transaction as the change."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Index, String, Text, bindparam, func, insert, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from omniretail.db.base import Base, BigIntPK, UTCDateTime
from omniretail.db.batch import WriteBatch
from omniretail.kernel.events import DomainEvent, cloud_event

# The rows the relay has still to plan (the partial index's condition, and its queries').
UNPLANNED = "planned_at IS NULL AND published_at IS NULL"


class OutboxMessage(Base):
    __tablename__ = "outbox"

    position: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    time: Mapped[datetime]
    data: Mapped[dict[str, Any]]
    published_at: Mapped[datetime | None]
    # Set by the relay in the transaction that plans the message's deliveries (or publishes
    # it at once): planning reads only the rows where both are null (ix_outbox_unplanned).
    planned_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    # Planning and the relay's idle probe read it (no other query needs unpublished rows by
    # position: publishing finds them by id).
    __table_args__ = (
        Index(
            "ix_outbox_unplanned",
            "position",
            postgresql_where=text(UNPLANNED),
            sqlite_where=text(UNPLANNED),
        ),
    )

    def as_cloud_event(self) -> dict[str, Any]:
        return cloud_event(
            id=self.id,
            source=self.source,
            type=self.type,
            subject=self.subject,
            time=self.time,
            data=self.data,
        )


def write_events(
    session: Session,
    events: Sequence[DomainEvent],
    *,
    source: str,
    time: datetime,
    batch: WriteBatch | None = None,
) -> None:
    """All events of a unit of work in one executemany (batched multi-row INSERTs from one
    cached statement: a literal multi-row VALUES of thousands of events costs more to compile
    than to run). With a ``batch`` on PostgreSQL they join the unit of work's other writes at
    commit (one array per column, in order)."""
    if not events:
        return
    if batch is not None and session.get_bind().dialect.name == "postgresql":
        table: Any = OutboxMessage.__table__
        batch.add_rows(
            session,
            table,
            _rows(events, source, time),
        )
        return
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(
            _PG_WRITE,
            {
                "ids": [e.id for e in events],
                "types": [e.full_type for e in events],
                "subjects": [e.subject for e in events],
                "datas": [json.dumps(e.data) for e in events],
                "source": source,
                "time": time,
            },
        )
        return
    session.connection().execute(insert(OutboxMessage), _rows(events, source, time))


def _rows(events: Sequence[DomainEvent], source: str, time: datetime) -> list[dict[str, Any]]:
    return [event_row(e, source, time) for e in events]


def event_row(event: DomainEvent, source: str, time: datetime) -> dict[str, Any]:
    """The outbox row of ``event`` (for a statement that writes it itself)."""
    return {
        "id": event.id,
        "type": event.full_type,
        "source": source,
        "subject": event.subject,
        "time": time,
        "data": event.data,
        "attempts": 0,
    }


# PostgreSQL: one statement of four arrays, whatever the number of events (its text never
# changes, so the server keeps it prepared); positions follow the order of ``events``.
_PG_WRITE = text(
    "INSERT INTO outbox (id, type, source, subject, time, data, attempts) "
    "SELECT u.id, u.type, :source, u.subject, :time, CAST(u.data AS jsonb), 0 "
    "FROM unnest(CAST(:ids AS text[]), CAST(:types AS text[]), CAST(:subjects AS text[]), "
    "CAST(:datas AS text[])) WITH ORDINALITY AS u(id, type, subject, data, n) ORDER BY u.n"
).bindparams(
    *(bindparam(name, type_=ARRAY(Text())) for name in ("ids", "types", "subjects", "datas")),
    bindparam("time", type_=UTCDateTime()),
)


def list_events(
    session: Session, *, after: int = 0, limit: int = 100, type_prefix: str | None = None
) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.position > after)
    if type_prefix:
        query = query.where(OutboxMessage.type.startswith(type_prefix))
    return list(session.scalars(query.order_by(OutboxMessage.position).limit(limit)))


def latest_position(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(OutboxMessage.position), 0))) or 0


def events_by_id(session: Session, ids: Sequence[str]) -> dict[str, OutboxMessage]:
    """The stored events with these CloudEvent ids (an erased or unknown id is absent)."""
    if not ids:
        return {}
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(list(set(ids)))))
    return {row.id: row for row in rows}
