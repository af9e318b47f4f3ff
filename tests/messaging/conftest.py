"""Helpers for messaging tests: record events, read delivery state. The real endpoints (the
``receiver`` webhook receiver and the ``smtp_server``, on 127.0.0.1) are shared fixtures in
``tests/conftest.py`` (``tests/loopback.py``)."""

from __future__ import annotations

from sqlalchemy import select

from omniretail.bootstrap import Container
from omniretail.db.outbox import OutboxMessage
from omniretail.kernel.events import DomainEvent
from omniretail.messaging.models import Delivery


def record(container: Container, *events: DomainEvent) -> list[str]:
    """Commit events through a unit of work, as a use case would; returns their ids."""
    with container.uow() as uow:
        for event in events:
            uow.record(event)
    return [e.id for e in events]


def deliveries(container: Container) -> list[Delivery]:
    with container.read_uow() as uow:
        return list(uow.session.scalars(select(Delivery).order_by(Delivery.position, Delivery.id)))


def outbox(container: Container) -> list[OutboxMessage]:
    with container.read_uow() as uow:
        return list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.position)))
