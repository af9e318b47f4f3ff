"""Deterministic "nothing (more) happened" checks: run the outbox relay until nothing is left
to do, instead of sleeping and hoping a background thread would have acted by then."""

from __future__ import annotations

from sqlalchemy import select

from omniretail.bootstrap import Container
from omniretail.db.outbox import OutboxMessage
from omniretail.messaging.models import Delivery, DeliveryStatus
from omniretail.messaging.relay import RelayReport


def drain(container: Container) -> RelayReport:
    """Runs the relay until idle, then asserts the outbox is empty of work: every message
    published and no delivery pending or being sent (a retry scheduled for later counts as
    pending: a negative check after it would prove nothing). Returns what the runs did."""
    report = container.relay().run_until_idle()
    with container.read_uow() as uow:
        unpublished = uow.session.scalars(
            select(OutboxMessage.type).where(OutboxMessage.published_at.is_(None))
        ).all()
        waiting = uow.session.execute(
            select(Delivery.handler, Delivery.status, Delivery.last_error).where(
                Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING])
            )
        ).all()
    assert list(unpublished) == [], f"outbox messages left unpublished: {unpublished}"
    assert [tuple(row) for row in waiting] == [], f"deliveries still waiting: {waiting}"
    return report
