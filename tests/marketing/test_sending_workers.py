"""Marketing's worker processes (``marketing_delivery_processes``): two spawned processes
decide and queue N due sends between them, each exactly once (PostgreSQL: the claim's
``SKIP LOCKED`` is what they share the work by); they advance due runs too, while relays send
the notifications, and nothing is done twice or deadlocks."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from omniretail.bootstrap import Container, build_container
from omniretail.customers import service as customers
from omniretail.customers.schemas import ConsentWrite
from omniretail.marketing import service as marketing
from omniretail.marketing.journeys_definition import JourneyDefinition
from omniretail.marketing.journeys_models import Run, RunStep
from omniretail.marketing.schemas import JourneyCreate, MessageCreate, SendPolicy
from omniretail.marketing.sending import SendRequest
from omniretail.marketing.sending_models import MarketingSend
from omniretail.marketing.tasks import DeliveryWorkers
from omniretail.messaging.models import Delivery
from omniretail.messaging.relay import Relay
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
    people = _set_up_sending(container, 4)
    with container.uow() as uow:
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


@pytest.mark.parametrize("backend", ["postgres"])  # overrides the sqlite/postgres fixture
def test_processes_advance_and_deliver_while_relays_send_each_send_once(
    container: Container,
) -> None:
    """The contending paths at once: two worker processes claim due runs and due sends
    (advance, then deliver: journal, runs, sends, notifications and their events written)
    while two relays plan those events, send the notifications and publish them."""
    people = _set_up_sending(container, CUSTOMERS)
    with container.uow() as uow:
        journeys = [_journey(uow, f"j{n}") for n in range(JOURNEYS)]
    container.relay().run_until_idle()  # the set-up's own events
    with container.uow() as uow:
        entered = sum(
            marketing.enter_many(uow, j, [(p, "mass", {}) for p in people]) for j in journeys
        )
    runs = CUSTOMERS * JOURNEYS
    assert entered == runs
    workers = DeliveryWorkers(build_container, container.settings, 2, limit=7, interval=0.05)
    relays = [container.relay() for _ in range(2)]
    for relay in relays:
        relay.batch_size = 9
    errors: list[BaseException] = []
    stop = threading.Event()

    def relaying(relay: Relay) -> None:
        try:
            while not stop.is_set():
                if not relay.run_once().did_work:
                    time.sleep(0.01)
        except BaseException as exc:  # a deadlock would end up here
            errors.append(exc)

    threads = [threading.Thread(target=relaying, args=(r,)) for r in relays]
    workers.start(paused=True)
    try:
        assert workers.wait_ready()
        workers.resume()
        for thread in threads:
            thread.start()
        ends = time.monotonic() + 180
        while workers.delivered < runs and time.monotonic() < ends and not errors:
            time.sleep(0.05)
        time.sleep(0.3)  # a second decision of any send would show up here
    finally:
        workers.stop()
        stop.set()
        for thread in threads:
            thread.join(60)
    relays[0].run_until_idle()

    assert errors == []
    assert (workers.advanced, workers.delivered) == (runs, runs)
    with container.read_uow() as uow:
        states = uow.session.execute(select(Run.state, func.count()).group_by(Run.state)).all()
        journal = uow.session.scalar(select(func.count(RunStep.id)))
        statuses = uow.session.execute(
            select(MarketingSend.status, func.count()).group_by(MarketingSend.status)
        ).all()
        notes = uow.session.execute(
            select(Notification.status, func.count()).group_by(Notification.status)
        ).all()
        attempts = uow.session.execute(
            select(Delivery.status, Delivery.attempts, func.count()).group_by(
                Delivery.status, Delivery.attempts
            )
        ).all()
    assert states == [("completed", runs)]
    assert journal == runs
    assert statuses == [("sent", runs)]
    assert notes == [("sent", runs)]
    # every delivery once, first attempt (a deadlock's rolled-back attempt would count)
    assert [(s, a) for s, a, _ in attempts] == [("delivered", 1)]


CUSTOMERS, JOURNEYS = 12, 5


def _set_up_sending(container: Container, count: int) -> list[int]:
    """``count`` customers with a verified email who agreed to marketing by email, the message
    ``hello``, and a send policy with no control group, quiet hours or caps."""
    people = [
        make_customer(container, f"Person{n} Test", email=f"p{n}@example.com", verified=True)
        for n in range(count)
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
    return people


def _journey(uow: Any, code: str) -> int:
    definition = JourneyDefinition.model_validate(
        {
            "trigger": {"kind": "segment_entered", "segment_id": 10**9},
            "steps": [{"id": "send", "kind": "send", "message": "hello"}],
        }
    )
    made = marketing.create_journey(
        uow, JourneyCreate(code=code, name=code, definition=definition), actor="test"
    )
    marketing.publish(uow, code, actor="test")
    return made.id
