"""The outbox relay: order, at-least-once, retries with back-off, dead letters, crashes, and
concurrent relays (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from omniretail.kernel.events import DomainEvent
from omniretail.messaging import service
from omniretail.messaging.errors import DeliveryNotDead, UnknownDelivery
from omniretail.messaging.handlers import HandlerRegistry, SkipDelivery, UowFactory
from omniretail.messaging.relay import Relay, RelayReport, RetryPolicy
from omniretail.messaging.wiring import build_relay
from tests.messaging.conftest import deliveries, outbox, record

POLICY = RetryPolicy(max_attempts=3, base_seconds=10, cap_seconds=60)


class Recorder:
    """A handler that remembers what it received; ``fail`` makes given event ids raise."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], _uow_factory: UowFactory) -> None:
        with self._lock:
            self.calls.append(event["id"])
            if self.fail.get(event["id"], 0) > 0:
                self.fail[event["id"]] -= 1
                raise RuntimeError("downstream unavailable")


def made(n: int, kind: str = "thing_made") -> DomainEvent:
    return DomainEvent(f"test.{kind}", f"things/{n}", {"n": n})


def make_relay(container, registry: HandlerRegistry, **kwargs: Any) -> Relay:
    kwargs.setdefault("policy", POLICY)
    return Relay(container.uow, registry, rng=random.Random(7), **kwargs)


def test_relay_delivers_every_event_in_outbox_order_to_each_matching_handler(container):
    registry = HandlerRegistry()
    first, second, other = Recorder(), Recorder(), Recorder()
    registry.add("omniretail.test.*", "test.first", first)
    registry.add("omniretail.test.thing_made", "test.second", second)
    registry.add("omniretail.elsewhere.*", "test.other", other)
    ids = record(container, made(1), made(2)) + record(container, made(3))
    ids += record(container, made(4, "thing_broken"))

    report = make_relay(container, registry).run_until_idle()

    assert first.calls == ids
    assert second.calls == ids[:3]
    assert other.calls == []
    assert (report.planned, report.delivered, report.published) == (4, 7, 4)
    assert [(d.handler, d.status, d.attempts) for d in deliveries(container)] == [
        ("test.first", "delivered", 1),
        ("test.second", "delivered", 1),
        ("test.first", "delivered", 1),
        ("test.second", "delivered", 1),
        ("test.first", "delivered", 1),
        ("test.second", "delivered", 1),
        ("test.first", "delivered", 1),
    ]
    assert all(m.published_at == container.clock.now() for m in outbox(container))
    # Nothing is delivered twice on later passes.
    assert not make_relay(container, registry).run_once().did_work
    assert len(first.calls) == 4


def test_an_event_no_handler_wants_is_published_without_deliveries(container):
    record(container, made(1))

    report = make_relay(container, HandlerRegistry()).run_once()

    assert (report.planned, report.published) == (1, 1)
    assert deliveries(container) == []
    assert outbox(container)[0].published_at == container.clock.now()


def test_failing_handler_is_retried_with_backoff_without_rerunning_the_others(container, clock):
    registry = HandlerRegistry()
    steady, flaky = Recorder(), Recorder()
    registry.add("*", "test.steady", steady)
    registry.add("*", "test.flaky", flaky)
    first, second = record(container, made(1), made(2))
    flaky.fail[first] = 1
    relay = make_relay(container, registry)
    start = clock.now()

    report = relay.run_once()

    # The failure does not hold back the next event.
    assert (report.delivered, report.retried) == (3, 1)
    assert steady.calls == [first, second]
    assert flaky.calls == [first, second]
    failed = next(d for d in deliveries(container) if d.status != "delivered")
    assert (failed.message_id, failed.handler, failed.status) == (first, "test.flaky", "pending")
    assert failed.attempts == 1
    assert failed.last_error == "RuntimeError: downstream unavailable"
    # Attempt 1 waits 10 s, the last half of it random: 5 to 10 s.
    assert start + timedelta(seconds=5) <= failed.next_attempt_at <= start + timedelta(seconds=10)
    assert [m.published_at is None for m in outbox(container)] == [True, False]

    clock.advance(seconds=4.9)
    assert not relay.run_once().did_work
    clock.advance(seconds=5.1)
    report = relay.run_once()

    assert (report.delivered, report.published) == (1, 1)
    assert steady.calls == [first, second]
    assert flaky.calls == [first, second, first]
    retried = next(d for d in deliveries(container) if d.id == failed.id)
    assert (retried.status, retried.attempts, retried.last_error) == ("delivered", 2, None)
    assert all(m.published_at is not None for m in outbox(container))


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half():
    policy = RetryPolicy(max_attempts=10, base_seconds=10, cap_seconds=60, jitter=0.5)

    class Edge(random.Random):
        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

        def random(self) -> float:
            return self.value

    low, high = Edge(0.0), Edge(1.0)
    assert [policy.delay(n, low).total_seconds() for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]
    assert [policy.delay(n, high).total_seconds() for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]


def test_delivery_goes_dead_after_max_attempts_and_replay_delivers_it(container, clock):
    registry = HandlerRegistry()
    handler = Recorder()
    registry.add("*", "test.handler", handler)
    (event_id,) = record(container, made(1))
    handler.fail[event_id] = 3
    relay = make_relay(container, registry)

    for attempt in (1, 2, 3):
        report = relay.run_once()
        assert handler.calls == [event_id] * attempt
        clock.advance(seconds=POLICY.longest_delay(attempt).total_seconds())

    assert (report.retried, report.dead) == (0, 1)
    (dead,) = deliveries(container)
    assert (dead.status, dead.attempts) == ("dead", 3)
    assert outbox(container)[0].published_at is None
    clock.advance(days=1)
    assert not relay.run_once().did_work  # dead letters wait for an operator
    with container.read_uow() as uow:
        letters = service.list_dead_letters(uow)
    assert [(d.id, d.message_id, d.event_type, d.handler, d.attempts) for d in letters] == [
        (dead.id, event_id, "omniretail.test.thing_made", "test.handler", 3)
    ]
    assert letters[0].last_error == "RuntimeError: downstream unavailable"

    with container.uow() as uow:
        replayed = service.replay_delivery(uow, dead.id, actor="test")
    assert (replayed.status, replayed.attempts) == ("pending", 0)
    report = relay.run_once()

    assert (report.delivered, report.published) == (1, 1)
    assert handler.calls == [event_id] * 4
    (done,) = deliveries(container)
    assert (done.status, done.attempts, done.last_error) == ("delivered", 1, None)
    assert outbox(container)[0].published_at == clock.now()
    with container.read_uow() as uow:
        assert service.list_dead_letters(uow) == []


def test_replay_refuses_a_delivery_that_is_not_dead(container):
    registry = HandlerRegistry()
    registry.add("*", "test.handler", Recorder())
    record(container, made(1))
    make_relay(container, registry).run_once()
    (delivered,) = deliveries(container)

    with pytest.raises(DeliveryNotDead), container.uow() as uow:
        service.replay_delivery(uow, delivered.id, actor="test")

    assert [(d.status, d.attempts) for d in deliveries(container)] == [("delivered", 1)]
    with pytest.raises(UnknownDelivery), container.uow() as uow:
        service.replay_delivery(uow, delivered.id + 100, actor="test")


class SimulatedCrash(BaseException):
    """Stands for the process dying: nothing in the relay may catch it."""


def test_a_crash_after_the_handler_ran_leads_to_redelivery_not_loss(container, clock):
    registry = HandlerRegistry()
    effects: list[str] = []
    crashes = [True]

    def handler(event: dict[str, Any], _uow_factory: UowFactory) -> None:
        if event["id"] not in effects:  # idempotent: the effect happens once per event
            effects.append(event["id"])
        if crashes:
            crashes.pop()
            raise SimulatedCrash

    registry.add("*", "test.handler", handler)
    (event_id,) = record(container, made(1))
    relay = make_relay(container, registry, lease=timedelta(minutes=5))

    with pytest.raises(SimulatedCrash):
        relay.run_once()

    (claimed,) = deliveries(container)
    assert (claimed.status, claimed.attempts) == ("sending", 1)
    assert claimed.next_attempt_at == clock.now() + timedelta(minutes=5)
    assert outbox(container)[0].published_at is None
    # Another relay leaves it alone while the lease runs ...
    restarted = make_relay(container, registry)
    assert not restarted.run_once().did_work
    # ... and delivers it again once the lease has run out.
    clock.advance(minutes=5)
    report = restarted.run_once()

    assert report.delivered == 1
    assert effects == [event_id]
    (done,) = deliveries(container)
    assert (done.status, done.attempts, done.claim_token) == ("delivered", 2, None)
    assert outbox(container)[0].published_at == clock.now()


def test_a_delivery_whose_relay_keeps_dying_ends_in_dead_letters(container, clock):
    registry = HandlerRegistry()

    def handler(_event: dict[str, Any], _uow_factory: UowFactory) -> None:
        raise SimulatedCrash

    registry.add("*", "test.handler", handler)
    record(container, made(1))
    relay = make_relay(container, registry, lease=timedelta(minutes=1))
    for _ in range(POLICY.max_attempts):
        with pytest.raises(SimulatedCrash):
            relay.run_once()
        clock.advance(minutes=1)

    report = relay.run_once()

    assert report.dead == 1
    (dead,) = deliveries(container)
    assert (dead.status, dead.attempts) == ("dead", 3)
    assert dead.last_error == "the relay stopped during the last attempt (its lease ran out)"


def test_a_relay_that_outlived_its_lease_does_not_overwrite_the_new_claim(container, clock):
    registry = HandlerRegistry()
    calls: list[int] = []

    def slow(_event: dict[str, Any], _uow_factory: UowFactory) -> None:
        calls.append(1)
        if len(calls) == 1:
            # While this attempt hangs past its lease, another relay retries and succeeds.
            clock.advance(minutes=2)
            other = make_relay(container, registry, lease=timedelta(minutes=1))
            assert other.run_once().delivered == 1
            raise RuntimeError("timed out in the end")

    registry.add("*", "test.slow", slow)
    record(container, made(1))

    report = make_relay(container, registry, lease=timedelta(minutes=1)).run_once()

    assert report.lost_claims == 1
    (delivery,) = deliveries(container)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 2, None)


def test_a_handler_that_finds_nothing_to_do_skips_and_the_event_is_published(container):
    registry = HandlerRegistry()

    def gone(_event: dict[str, Any], _uow_factory: UowFactory) -> None:
        raise SkipDelivery("the target was deleted")

    registry.add("*", "test.gone", gone)
    record(container, made(1))

    report = make_relay(container, registry).run_once()

    assert (report.skipped, report.published) == (1, 1)
    (delivery,) = deliveries(container)
    assert (delivery.status, delivery.last_error) == ("skipped", "the target was deleted")


def test_a_delivery_for_a_handler_no_longer_registered_retries_then_dies(container, clock):
    registry = HandlerRegistry()
    old = Recorder()
    registry.add("*", "test.renamed", old)
    (event_id,) = record(container, made(1))
    old.fail[event_id] = 1
    make_relay(container, registry).run_once()
    clock.advance(seconds=POLICY.longest_delay(1).total_seconds())
    # A release renamed the handler while the delivery waited for its retry.
    relay = make_relay(container, HandlerRegistry())

    for attempt in (2, 3):
        relay.run_once()
        clock.advance(seconds=POLICY.longest_delay(attempt).total_seconds())

    (dead,) = deliveries(container)
    assert (dead.status, dead.attempts) == ("dead", 3)
    assert dead.last_error == "UnknownHandler: no handler named 'test.renamed' is registered"


def test_two_relays_at_once_never_deliver_a_delivery_twice(container):
    registry = HandlerRegistry()
    seen: list[tuple[str, str]] = []
    in_flight: set[tuple[str, str]] = set()
    overlaps: list[tuple[str, str]] = []
    lock = threading.Lock()

    def handler_named(name: str):
        def handler(event: dict[str, Any], _uow_factory: UowFactory) -> None:
            key = (event["id"], name)
            with lock:
                if key in in_flight:
                    overlaps.append(key)
                in_flight.add(key)
                seen.append(key)
            time.sleep(0.001)
            with lock:
                in_flight.discard(key)

        return handler

    registry.add("*", "test.a", handler_named("test.a"))
    registry.add("*", "test.b", handler_named("test.b"))
    ids: list[str] = []
    for batch in range(6):
        ids += record(container, *(made(batch * 10 + n) for n in range(10)))
    relays = [make_relay(container, registry, batch_size=4) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(relay: Relay) -> None:
        try:
            barrier.wait()
            relay.run_until_idle()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # A relay that went idle while the other still worked leaves nothing behind for a third.
    make_relay(container, registry).run_until_idle()

    assert errors == []
    assert overlaps == []
    assert sorted(seen) == sorted((i, n) for i in ids for n in ("test.a", "test.b"))
    rows = deliveries(container)
    assert len(rows) == 120
    assert {(d.status, d.attempts) for d in rows} == {("delivered", 1)}
    assert all(m.published_at is not None for m in outbox(container))


def test_claims_not_started_within_half_the_lease_are_handed_back_untried(container):
    registry = HandlerRegistry()
    wall = [0.0]
    calls: list[str] = []

    def slow(event: dict[str, Any], _uow_factory: UowFactory) -> None:
        calls.append(event["id"])
        wall[0] += 20  # each delivery takes 20 s of real time; the budget is 30 s

    registry.add("*", "test.slow", slow)
    ids = record(container, made(1), made(2), made(3))
    relay = make_relay(container, registry, lease=timedelta(minutes=1))
    relay.monotonic = lambda: wall[0]

    report = relay.run_once()

    assert (report.delivered, calls) == (2, ids[:2])
    assert [(d.status, d.attempts, d.claim_token) for d in deliveries(container)] == [
        ("delivered", 1, None),
        ("delivered", 1, None),
        ("pending", 0, None),
    ]
    assert deliveries(container)[2].next_attempt_at == container.clock.now()
    assert relay.run_once().delivered == 1
    assert calls == ids


LEASE = timedelta(seconds=30)


def test_a_crashed_relays_claims_are_taken_over_after_the_short_lease(container, clock):
    registry = HandlerRegistry()
    recorder = Recorder()
    registry.add("*", "test.handler", recorder)
    ids = record(container, made(1), made(2))
    # The deployed relay's settings: its lease is short (30 s by default).
    crashed = build_relay(container.settings, container.uow, registry)
    crashed._plan(RelayReport())
    # Relay A claims the deliveries, then dies before running them (no hand-back).
    assert len(crashed._claim(RelayReport())) == 2
    survivor = build_relay(container.settings, container.uow, registry)
    clock.advance(seconds=29)
    assert not survivor.run_once().did_work

    clock.advance(seconds=1)
    report = survivor.run_once()

    assert report.delivered == 2
    assert recorder.calls == ids
    assert [(d.status, d.attempts) for d in deliveries(container)] == [("delivered", 2)] * 2


class WatchedRelay(Relay):
    """Tells the test each time its heartbeat renewed the lease."""

    renewed: threading.Event

    def renew(self, token: str) -> int:
        count = super().renew(token)
        self.renewed.set()
        return count


def test_a_slow_handlers_lease_is_renewed_so_another_relay_does_not_deliver_it_twice(
    container, clock
):
    registry = HandlerRegistry()
    calls: list[str] = []
    taken_over: list[RelayReport] = []
    relay = WatchedRelay(
        container.uow, registry, policy=POLICY, lease=LEASE, heartbeat_seconds=0.01
    )
    relay.renewed = threading.Event()

    def slow(event: dict[str, Any], _uow_factory: UowFactory) -> None:
        calls.append(event["id"])
        other = make_relay(container, registry, lease=LEASE)
        for _ in range(4):  # two minutes of work, four times the lease
            clock.advance(seconds=25)
            # The second renewal from now began after the advance (one may be under way).
            for _ in range(2):
                relay.renewed.clear()
                assert relay.renewed.wait(timeout=10), "the heartbeat did not renew the lease"
            clock.advance(seconds=5)
            taken_over.append(other.run_once())

    registry.add("*", "test.slow", slow)
    (event_id,) = record(container, made(1))

    report = relay.run_once()

    assert report.delivered == 1
    assert calls == [event_id]
    assert not any(r.did_work for r in taken_over)
    (delivery,) = deliveries(container)
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
