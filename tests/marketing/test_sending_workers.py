"""Delivery in worker processes (``marketing_delivery_processes``): two spawned processes
decide and queue N due sends between them, each exactly once (PostgreSQL: the claim's
``SKIP LOCKED`` is what they share the work by)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from omniretail.bootstrap import Container, build_container
from omniretail.customers import service as customers
from omniretail.customers.schemas import ConsentWrite
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import MessageCreate, SendPolicy
from omniretail.marketing.sending import SendRequest
from omniretail.marketing.sending_models import MarketingSend
from omniretail.marketing.tasks import DeliveryWorkers
from omniretail.notifications.models import Notification
from tests.customers.helpers import make_customer

N = 240
MESSAGE = MessageCreate(
    code="hello",
    name="Hello",
    subject="{{ customer.first_name }}, hello",
    body="Hi {{ customer.first_name }}.",
    link_url="https://shop.example.com/x",
)


@pytest.mark.parametrize("backend", ["postgres"])  # overrides the sqlite/postgres fixture
def test_two_delivery_processes_send_n_sends_exactly_once(container: Container) -> None:
    people = [
        make_customer(container, f"Person{n} Test", email=f"p{n}@example.com", verified=True)
        for n in range(4)
    ]
    with container.uow() as uow:
        for person in people:
            customers.set_consent(
                uow,
                person,
                ConsentWrite(purpose="marketing", channel="email", granted=True),
                actor="test",
            )
        marketing.create_message(uow, MESSAGE)
        marketing.put_policy(
            uow, SendPolicy(control_group_percent=0, quiet_hours=None, caps={}, total=None)
        )
        queued = marketing.queue_sends(
            uow,
            [
                SendRequest(
                    key=f"k{n}", customer_id=people[n % 4], message="hello", channel="email"
                )
                for n in range(N)
            ],
        )
    assert queued == N
    workers = DeliveryWorkers(build_container, container.settings, 2, limit=10, interval=0.05)
    workers.start(paused=True)
    try:
        assert workers.wait_ready()
        workers.resume()
        ends = time.monotonic() + 120
        while workers.delivered < N and time.monotonic() < ends:
            time.sleep(0.05)
        time.sleep(0.3)  # a second decision of any send would show up here
    finally:
        workers.stop()

    assert workers.delivered == N
    with container.read_uow() as uow:
        statuses = uow.session.execute(
            select(MarketingSend.status, func.count()).group_by(MarketingSend.status)
        ).all()
        notes = uow.session.scalar(select(func.count(Notification.id)))
        linked = uow.session.scalar(
            select(func.count(func.distinct(MarketingSend.notification_id)))
        )
    assert statuses == [("sent", N)]
    assert notes == N
    assert linked == N
