"""Deliveries of one handler, by the subject of their event (queries on the relay's tables
that the notifications' views make; the relay's own are in ``repository``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, Select, cast, func, select
from sqlalchemy.orm import Session

from omniretail.db.outbox import OutboxMessage
from omniretail.messaging.models import Delivery


def deliveries_by_subject(
    session: Session, handler: str, subjects: Sequence[str]
) -> list[tuple[Delivery, str, str]]:
    """The deliveries to ``handler`` of the events with these subjects, with the event's
    subject and type."""
    if not subjects:
        return []
    query = (
        select(Delivery, OutboxMessage.subject, OutboxMessage.type)
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .where(Delivery.handler == handler, OutboxMessage.subject.in_(list(subjects)))
        .order_by(Delivery.id)
    )
    return [(row[0], row[1], row[2]) for row in session.execute(query)]


def subject_ids(
    handler: str, prefix: str, statuses: Sequence[str], *, failing: bool = False
) -> Select[int]:
    """A subquery: the ``<id>`` of events with subject ``<prefix><id>`` whose delivery to
    ``handler`` is in one of ``statuses`` (and, with ``failing``, whose last attempt failed)."""
    query = (
        select(cast(func.substr(OutboxMessage.subject, len(prefix) + 1), BigInteger))
        .select_from(Delivery)
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .where(
            Delivery.handler == handler,
            Delivery.status.in_(list(statuses)),
            OutboxMessage.subject.startswith(prefix, autoescape=True),
        )
    )
    if failing:
        query = query.where(Delivery.last_error.is_not(None))
    return query
