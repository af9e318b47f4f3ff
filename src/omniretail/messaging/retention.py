"""Outbox retention: the queries that delete published events (and their deliveries) older
than a date, a batch at a time in position order. Unpublished events are never selected: a
dead or pending delivery keeps its event until it is delivered or replayed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from omniretail.db.outbox import OutboxMessage
from omniretail.db.sql import rowcount
from omniretail.messaging.models import Delivery


def _published_before(before: datetime) -> list[ColumnElement[bool]]:
    return [OutboxMessage.published_at.is_not(None), OutboxMessage.time < before]


def count_published_before(session: Session, before: datetime) -> int:
    return int(session.scalar(select(func.count()).where(*_published_before(before))) or 0)


def count_unpublished_before(session: Session, before: datetime) -> int:
    query = select(func.count()).where(
        OutboxMessage.published_at.is_(None), OutboxMessage.time < before
    )
    return int(session.scalar(query) or 0)


def published_batch(
    session: Session, before: datetime, *, after_position: int, limit: int
) -> list[OutboxMessage]:
    """The next ``limit`` published events older than ``before``, by position."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.position > after_position, *_published_before(before))
        .order_by(OutboxMessage.position)
        .limit(limit)
    )
    return list(session.scalars(query))


def delete_events(session: Session, positions: Sequence[int], ids: Sequence[str]) -> int:
    """Deletes the events and their deliveries (published ones only, checked again)."""
    if not positions:
        return 0
    session.execute(
        delete(Delivery)
        .where(Delivery.message_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.position.in_(positions), OutboxMessage.published_at.is_not(None))
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
