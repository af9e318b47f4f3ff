"""Use cases on the relay's bookkeeping: delivery inspection, dead letters, replay, and
pruning published events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select

from omniretail.db.uow import UnitOfWork
from omniretail.messaging import repository, retention
from omniretail.messaging import subjects as of_subjects
from omniretail.messaging.errors import DeliveryNotDead, UnknownDelivery
from omniretail.messaging.models import Delivery, DeliveryStatus
from omniretail.messaging.schemas import DeliveryRead


def list_deliveries(
    uow: UnitOfWork, *, handler: str, status: DeliveryStatus | None = None, limit: int = 100
) -> list[DeliveryRead]:
    """The deliveries to one handler, newest first."""
    rows = repository.list_deliveries(uow.session, handler=handler, status=status, limit=limit)
    return [_delivery_read(d, t) for d, t in rows]


def list_dead_letters(
    uow: UnitOfWork, *, handler_prefix: str | None = None, limit: int = 100
) -> list[DeliveryRead]:
    """Deliveries that used up their attempts, newest first."""
    rows = repository.list_deliveries(
        uow.session, status=DeliveryStatus.DEAD, handler_prefix=handler_prefix, limit=limit
    )
    return [_delivery_read(d, t) for d, t in rows]


def replay_delivery(
    uow: UnitOfWork, delivery_id: int, *, actor: str, handler_prefix: str | None = None
) -> DeliveryRead:
    """Give a dead delivery a fresh set of attempts, due now; the relay picks it up."""
    found = repository.get_delivery(uow.session, delivery_id)
    if found is None or (handler_prefix and not found[0].handler.startswith(handler_prefix)):
        raise UnknownDelivery(f"no delivery {delivery_id}", field="id")
    if not repository.revive_dead_deliveries(uow.session, [delivery_id], uow.now):
        raise DeliveryNotDead(f"delivery {delivery_id} is {found[0].status}, not dead", field="id")
    uow.session.expire_all()
    replayed = repository.get_delivery(uow.session, delivery_id)
    assert replayed is not None
    return _delivery_read(*replayed)


def replay_message(uow: UnitOfWork, message_id: str, *, actor: str) -> list[DeliveryRead]:
    """Replay every dead delivery of one outbox message."""
    rows = repository.list_deliveries(uow.session, message_id=message_id, limit=1000)
    if not rows:
        raise UnknownDelivery(f"no deliveries for event {message_id}", field="id")
    dead = [d.id for d, _ in rows if d.status == DeliveryStatus.DEAD]
    if not dead:
        raise DeliveryNotDead(f"event {message_id} has no dead deliveries", field="id")
    revived = repository.revive_dead_deliveries(uow.session, dead, uow.now)
    uow.session.expire_all()
    return [
        _delivery_read(d, t)
        for d, t in repository.list_deliveries(uow.session, message_id=message_id, limit=1000)
        if d.id in revived
    ]


def deliveries_by_subject(
    uow: UnitOfWork, *, handler: str, subjects: Sequence[str]
) -> dict[str, DeliveryRead]:
    """The latest delivery to ``handler`` of each event subject (one event per subject is
    the case this serves: ``notifications/<id>``)."""
    rows = of_subjects.deliveries_by_subject(uow.session, handler, subjects)
    return {subject: _delivery_read(d, event_type) for d, subject, event_type in rows}


def subject_ids(
    *, handler: str, prefix: str, statuses: Sequence[DeliveryStatus], failing: bool = False
) -> Select[int]:
    """A subquery of the ids in ``<prefix><id>`` subjects whose delivery to ``handler`` is in
    ``statuses`` (``failing``: and has an error from its last attempt)."""
    return of_subjects.subject_ids(handler, prefix, [s.value for s in statuses], failing=failing)


def _delivery_read(delivery: Delivery, event_type: str) -> DeliveryRead:
    return DeliveryRead(
        id=delivery.id,
        message_id=delivery.message_id,
        event_type=event_type,
        handler=delivery.handler,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        updated_at=delivery.updated_at,
        delivered_at=delivery.delivered_at,
    )


@dataclass
class PrunedBatch:
    deleted: int
    last_position: int  # where the next batch starts (after it)
    events: list[dict[str, Any]] = field(default_factory=list)  # CloudEvents, for an archive


def count_prunable(uow: UnitOfWork, before: datetime) -> tuple[int, int]:
    """(published events older than ``before``, unpublished ones that pruning keeps)."""
    return (
        retention.count_published_before(uow.session, before),
        retention.count_unpublished_before(uow.session, before),
    )


def prune_published(
    uow: UnitOfWork, before: datetime, *, after_position: int = 0, limit: int = 1000
) -> PrunedBatch:
    """Deletes the next ``limit`` published events older than ``before`` (by position, after
    ``after_position``) with their deliveries; an unpublished event is never deleted."""
    rows = retention.published_batch(
        uow.session, before, after_position=after_position, limit=limit
    )
    if not rows:
        return PrunedBatch(deleted=0, last_position=after_position)
    events = [row.as_cloud_event() for row in rows]
    deleted = retention.delete_events(
        uow.session, [row.position for row in rows], [row.id for row in rows]
    )
    return PrunedBatch(deleted=deleted, last_position=rows[-1].position, events=events)
