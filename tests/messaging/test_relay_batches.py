"""The relay's batches: a handler registered with a batch form gets a pass's due events in one
call; a failing batch falls back to one by one (a poisoned event is retried and dead-lettered
alone); relays in parallel hand each event to a batch handler once (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from omniretail.kernel.events import DomainEvent
from omniretail.messaging.handlers import HandlerRegistry, UowFactory
from omniretail.messaging.relay import Relay, RelayReport, RetryPolicy
from tests.messaging.conftest import deliveries, outbox, record

POLICY = RetryPolicy(max_attempts=2, base_seconds=10, cap_seconds=60)


class Batcher:
    """A batch handler and its one-event form; events whose ``n`` is in ``poison`` raise."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.singles: list[str] = []
        self.handled: list[str] = []  # events whose effect "committed"
        self.poison: set[int] = set()
        self._lock = threading.Lock()

    def one(self, event: dict[str, Any], _uow_factory: UowFactory) -> None:
        with self._lock:
            self.singles.append(event["id"])
        self._handle([event])

    def many(self, events: list[dict[str, Any]], _uow_factory: UowFactory) -> None:
        with self._lock:
            self.batches.append([e["id"] for e in events])
        self._handle(events)

    def _handle(self, events: list[dict[str, Any]]) -> None:
        # all or nothing, like a handler's one transaction
        if any(e["data"]["n"] in self.poison for e in events):
            raise RuntimeError("poisoned")
        with self._lock:
            self.handled.extend(e["id"] for e in events)


def made(n: int) -> DomainEvent:
    return DomainEvent("test.thing_made", f"things/{n}", {"n": n})


def relay_for(container: Any, registry: HandlerRegistry, **kwargs: Any) -> Relay:
    kwargs.setdefault("policy", POLICY)
    return Relay(container.uow, registry, rng=random.Random(3), **kwargs)


def registry_with(batcher: Batcher) -> tuple[HandlerRegistry, list[str]]:
    registry = HandlerRegistry()
    plain: list[str] = []
    registry.add("*", "test.batched", batcher.one, batch=batcher.many)
    registry.add("*", "test.plain", lambda event, _f: plain.append(event["id"]))
    return registry, plain


def test_a_batch_handler_gets_the_due_events_in_one_call_and_each_is_recorded(container):
    batcher = Batcher()
    registry, plain = registry_with(batcher)
    ids = record(container, *(made(n) for n in range(5))) + record(container, made(5))

    report = relay_for(container, registry).run_once()

    assert batcher.batches == [ids]
    assert batcher.singles == []
    assert batcher.handled == ids
    assert plain == ids
    assert (report.planned, report.delivered, report.published, report.retried) == (6, 12, 6, 0)
    assert {(d.handler, d.status, d.attempts, d.last_error) for d in deliveries(container)} == {
        ("test.batched", "delivered", 1, None),
        ("test.plain", "delivered", 1, None),
    }
    assert all(m.published_at == container.clock.now() for m in outbox(container))
    assert not relay_for(container, registry).run_once().did_work


def test_a_poisoned_event_in_a_batch_fails_alone_and_ends_dead_alone(container, clock):
    batcher = Batcher()
    batcher.poison = {2}
    registry, _plain = registry_with(batcher)
    ids = record(container, *(made(n) for n in range(5)))
    relay = relay_for(container, registry)

    report = relay.run_once()

    # the batch failed as a whole, then each went alone: the four others are delivered
    assert batcher.batches == [ids]
    assert batcher.singles == ids
    assert batcher.handled == [i for i in ids if i != ids[2]]
    assert (report.delivered, report.retried, report.dead) == (9, 1, 0)
    batched = {d.message_id: d for d in deliveries(container) if d.handler == "test.batched"}
    assert batched[ids[2]].status == "pending"
    assert batched[ids[2]].attempts == 1
    assert batched[ids[2]].last_error == "RuntimeError: poisoned"
    assert {batched[i].status for i in ids if i != ids[2]} == {"delivered"}
    assert [m.published_at is None for m in outbox(container)] == [False, False, True, False, False]

    clock.advance(seconds=POLICY.longest_delay(1).total_seconds())
    report = relay.run_once()

    assert (report.delivered, report.dead) == (0, 1)
    assert batcher.singles[-1] == ids[2]  # a batch of one is delivered as one
    assert len(batcher.batches) == 1
    dead = next(d for d in deliveries(container) if d.status == "dead")
    assert (dead.message_id, dead.handler, dead.attempts) == (ids[2], "test.batched", 2)
    assert sorted(batcher.handled) == sorted(i for i in ids if i != ids[2])


def test_a_batch_whose_claims_were_lost_records_nothing_for_them(container, clock):
    batcher = Batcher()
    registry = HandlerRegistry()
    registry.add("*", "test.batched", batcher.one, batch=batcher.many)
    ids = record(container, made(1), made(2))
    slow = relay_for(container, registry)
    original = batcher.many

    def outlived(events: list[dict[str, Any]], uow_factory: UowFactory) -> None:
        original(events, uow_factory)
        # meanwhile the lease ran out and another relay took and delivered both
        clock.advance(seconds=slow.lease.total_seconds() + 1)
        registry_other = HandlerRegistry()
        registry_other.add("*", "test.batched", batcher.one, batch=original)
        relay_for(container, registry_other).run_once()

    registry._batches["test.batched"] = outlived  # the slow relay's batch form

    report = slow.run_once()

    assert report.lost_claims == 2
    assert report.delivered == 0
    assert batcher.batches == [ids, ids]  # at least once: both relays ran it
    assert {(d.status, d.attempts) for d in deliveries(container)} == {("delivered", 2)}


@pytest.mark.parametrize("backend", ["postgres"])  # overrides the sqlite/postgres fixture
def test_two_relays_in_parallel_hand_each_event_to_a_batch_handler_once(container):
    batcher = Batcher()
    registry, plain = registry_with(batcher)
    ids: list[str] = []
    for chunk in range(20):
        ids += record(container, *(made(chunk * 10 + n) for n in range(10)))
    relays = [relay_for(container, registry, batch_size=16) for _ in range(2)]
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
        thread.join(120)
    relay_for(container, registry).run_until_idle()

    assert errors == []
    assert sorted(batcher.handled) == sorted(ids)  # each once
    # each handed over once: in a batch, or alone when a pass claimed just one of them
    handed = [event_id for batch in batcher.batches for event_id in batch] + batcher.singles
    assert sorted(handed) == sorted(ids)
    assert len(batcher.batches) >= 2
    assert sorted(plain) == sorted(ids)
    rows = deliveries(container)
    assert len(rows) == 400
    assert {(d.status, d.attempts) for d in rows} == {("delivered", 1)}
    assert all(m.published_at is not None for m in outbox(container))


def test_the_successes_of_a_pass_are_recorded_in_one_transaction(container):
    registry = HandlerRegistry()
    seen: list[str] = []
    registry.add("*", "test.single", lambda event, _f: seen.append(event["id"]))
    ids = record(container, *(made(n) for n in range(6)))
    opened: list[int] = []

    def counting_uow() -> Any:
        opened.append(1)
        return container.uow()

    relay = Relay(counting_uow, registry, policy=POLICY, rng=random.Random(3))

    report = relay.run_once()

    assert seen == ids
    assert (report.delivered, report.published) == (6, 6)
    assert len(opened) == 2  # plan and claim, then the six outcomes together
    assert {(d.status, d.attempts, d.claim_token) for d in deliveries(container)} == {
        ("delivered", 1, None)
    }
    assert all(m.published_at is not None for m in outbox(container))


def test_background_handlers_are_claimed_after_the_others_each_in_event_order(container):
    """Deliveries to a ``background`` handler (the notification sends) wait while others are
    due: a reaction to a later event is not queued behind a backlog of sends. A pass plans
    pages of messages until a batch of deliveries is found: the events nobody wants in
    between do not leave it short."""
    registry = HandlerRegistry()
    got: list[tuple[str, int]] = []
    registry.add(
        "omniretail.test.slow",
        "slow",
        lambda e, _u: got.append(("slow", e["data"]["n"])),
        background=True,
    )
    registry.add(
        "omniretail.test.quick", "quick", lambda e, _u: got.append(("quick", e["data"]["n"]))
    )

    def event(kind: str, n: int) -> DomainEvent:
        return DomainEvent(f"test.{kind}", f"{kind}/{n}", {"n": n})

    record(
        container,
        event("slow", 0),
        *(event("nobody", n) for n in range(3)),
        event("quick", 0),
        event("slow", 1),
        event("quick", 1),
    )
    relay = relay_for(container, registry, batch_size=2)

    first = relay.run_once()
    # three pages of two (the third fills the batch); the three nobody wants published at once
    assert (first.planned, first.published, first.delivered) == (6, 3 + 2, 2)
    assert got == [("quick", 0), ("slow", 0)]
    relay.run_once()
    assert got[2:] == [("quick", 1), ("slow", 1)]


def test_a_background_delivery_is_planned_in_the_background_lane_and_claimed_after_a_later_one(
    container,
):
    """The lane is stored when a delivery is planned, from the handler's registration: an
    older background delivery waits behind a foreground one planned in a later pass."""
    registry = HandlerRegistry()
    got: list[str] = []
    registry.add("omniretail.test.slow", "slow", lambda e, _u: got.append(e["id"]), background=True)
    registry.add("omniretail.test.quick", "quick", lambda e, _u: got.append(e["id"]))
    relay = relay_for(container, registry, batch_size=1)
    (older,) = record(container, DomainEvent("test.slow", "slow/0", {}))
    relay._plan(RelayReport())
    (later,) = record(container, DomainEvent("test.quick", "quick/0", {}))

    relay.run_once()

    assert got == [later]
    assert {(d.handler, d.lane) for d in deliveries(container)} == {("slow", 1), ("quick", 0)}
    relay.run_once()
    assert got == [later, older]


def test_a_foreground_backlog_delays_the_background_lane_but_never_starves_it(container):
    """A batch keeps a tenth for the background lane (the notification sends): however many
    foreground deliveries are due, each pass sends some of the waiting background ones."""
    registry = HandlerRegistry()
    got: list[str] = []
    registry.add("omniretail.test.slow", "slow", lambda e, _u: got.append("slow"), background=True)
    registry.add("omniretail.test.quick", "quick", lambda e, _u: got.append("quick"))
    relay = relay_for(container, registry, batch_size=10)
    record(container, *(DomainEvent("test.slow", f"slow/{n}", {}) for n in range(3)))
    relay._plan(RelayReport())
    record(container, *(DomainEvent("test.quick", f"quick/{n}", {}) for n in range(30)))
    relay._plan(RelayReport())
    relay._plan(RelayReport())
    relay._plan(RelayReport())

    relay.run_once()

    assert got.count("quick") == 9
    assert got.count("slow") == 1  # the oldest background delivery, though 21 quick still wait
    relay.run_once()
    assert (got.count("quick"), got.count("slow")) == (18, 2)


def test_events_a_batch_handler_returns_as_skipped_end_skipped_in_the_same_pass(container, caplog):
    """A batch handler names the events it had nothing to do for (a guest's order): they end
    ``skipped`` with its reason, the others delivered, without a fallback to one by one."""
    registry = HandlerRegistry()
    calls: list[int] = []
    singles: list[str] = []

    def many(events: list[dict[str, Any]], _u: UowFactory) -> dict[str, str]:
        calls.append(len(events))
        return {e["id"]: "a guest" for e in events if e["data"]["n"] % 2}

    registry.add("*", "test.batched", lambda e, _u: singles.append(e["id"]), batch=many)
    ids = record(container, *(made(n) for n in range(4)))

    report = relay_for(container, registry).run_once()

    assert calls == [4]
    assert singles == []
    assert "one by one" not in caplog.text
    assert (report.delivered, report.skipped, report.published) == (2, 2, 4)
    assert [(d.message_id, d.status, d.last_error) for d in deliveries(container)] == [
        (ids[0], "delivered", None),
        (ids[1], "skipped", "a guest"),
        (ids[2], "delivered", None),
        (ids[3], "skipped", "a guest"),
    ]
