"""Relays in parallel while events keep arriving (PostgreSQL): planning new messages and
finishing delivered ones run at the same time in different relays, and neither plans a
message twice nor deadlocks.

The race: a relay's plan reads "messages without deliveries" in its statement's snapshot and
locks each row as its scan reaches it; a message another relay planned and committed in
between is unlocked by then and came back, so it was planned again, its deliveries' insert
waited on a relay finishing them, which waited on the message's lock to publish it."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

import pytest

from omniretail.kernel.events import DomainEvent
from omniretail.messaging.handlers import HandlerRegistry, UowFactory
from omniretail.messaging.relay import Relay, RelayReport, RetryPolicy
from tests.messaging.conftest import deliveries, outbox, record

EVENTS = 800
HANDLERS = ("test.first", "test.second", "test.third")


@pytest.mark.parametrize("backend", ["postgres"])  # overrides the sqlite/postgres fixture
def test_relays_planning_and_finishing_in_parallel_plan_each_message_once(container):
    calls: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()
    registry = HandlerRegistry()

    def handler(name: str) -> Any:
        def handle(event: dict[str, Any], _uow_factory: UowFactory) -> None:
            with lock:
                calls[(name, event["id"])] += 1

        return handle

    for name in HANDLERS:
        registry.add("*", name, handler(name))
    policy = RetryPolicy(max_attempts=3, base_seconds=1, cap_seconds=1)
    relays = [
        Relay(container.uow, registry, policy=policy, batch_size=5, rng=random.Random(n))
        for n in range(3)
    ]
    ids: list[str] = []
    producing = threading.Event()
    producing.set()
    errors: list[BaseException] = []
    reports = [RelayReport() for _ in relays]

    def produce() -> None:
        try:
            for chunk in range(EVENTS // 10):
                made = [
                    DomainEvent("test.thing_made", f"things/{chunk}", {"n": chunk * 10 + n})
                    for n in range(10)
                ]
                ids.extend(record(container, *made))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            producing.clear()

    def relaying(relay: Relay, report: RelayReport) -> None:
        try:
            while True:
                done = relay.run_once()
                report.add(done)
                if not done.did_work:
                    if not producing.is_set():
                        return
                    time.sleep(0.001)
        except BaseException as exc:  # a deadlock would raise here
            errors.append(exc)

    threads = [threading.Thread(target=produce)] + [
        threading.Thread(target=relaying, args=(r, rep))
        for r, rep in zip(relays, reports, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    tail = relays[0].run_until_idle()  # whatever the last passes left

    assert errors == []
    assert len(ids) == EVENTS
    # each message planned by one relay once (a second plan is counted in its ``planned``)
    assert sum(r.planned for r in reports) + tail.planned == EVENTS
    assert calls == Counter({(name, i): 1 for name in HANDLERS for i in ids})
    rows = deliveries(container)
    assert len(rows) == EVENTS * len(HANDLERS)
    assert {(d.status, d.attempts) for d in rows} == {("delivered", 1)}
    assert all(m.published_at is not None for m in outbox(container))
