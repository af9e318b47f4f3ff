"""The relay's own bookkeeping per event (SQLite and PostgreSQL): skips are recorded with the
successes of their pass, not one transaction each; a message is published once all of its
deliveries are done, whichever way; the idle probe (``has_work``) finds new and due work and
nothing else, and ``run_forever`` notices an event recorded while it idles; a handler
registered after planning began is still planned."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from sqlalchemy import event, update

from omniretail.kernel.events import DomainEvent
from omniretail.messaging.handlers import HandlerRegistry, SkipDelivery, UowFactory
from omniretail.messaging.models import Delivery
from omniretail.messaging.relay import LOST_LEASE, Relay, RelayReport, RetryPolicy
from omniretail.notifications.webhooks import WebhookSource
from tests.messaging.conftest import deliveries, outbox, record

POLICY = RetryPolicy(max_attempts=3, base_seconds=10, cap_seconds=60)


def made(n: int) -> DomainEvent:
    return DomainEvent("test.thing_made", f"things/{n}", {"n": n})


def relay_for(factory: UowFactory, registry: HandlerRegistry, container: Any) -> Relay:
    return Relay(
        factory,
        registry,
        policy=POLICY,
        rng=random.Random(3),
        read_uow_factory=container.read_uow,
    )


def skip_odd(event: dict[str, Any], _factory: UowFactory) -> None:
    if event["data"]["n"] % 2:
        raise SkipDelivery("odd things are not for me")


def test_skips_and_successes_of_a_pass_are_recorded_in_one_transaction(container):
    registry = HandlerRegistry()
    seen: list[str] = []
    registry.add("*", "test.skips_odd", skip_odd)
    registry.add("*", "test.plain", lambda event, _f: seen.append(event["id"]))
    registry.add("*", "test.always_skips", lambda event, _f: (_ for _ in ()).throw(SkipDelivery()))
    ids = record(container, *(made(n) for n in range(6)))
    opened: list[int] = []

    def counting_uow() -> Any:
        opened.append(1)
        return container.uow()

    report = relay_for(counting_uow, registry, container).run_once()

    assert seen == ids
    assert (report.delivered, report.skipped, report.published) == (6 + 3, 3 + 6, 6)
    assert len(opened) == 2  # plan and claim, then all eighteen outcomes together
    outcomes = {(d.handler, d.message_id): d for d in deliveries(container)}
    for n, message_id in enumerate(ids):
        odd = outcomes[("test.skips_odd", message_id)]
        assert (odd.status, odd.last_error, odd.claim_token) == (
            ("skipped", "odd things are not for me", None) if n % 2 else ("delivered", None, None)
        )
        assert (odd.delivered_at is None) == bool(n % 2)
        silent = outcomes[("test.always_skips", message_id)]
        assert (silent.status, silent.last_error, silent.delivered_at) == ("skipped", None, None)
    assert all(m.published_at == container.clock.now() for m in outbox(container))


def test_a_message_with_a_failed_delivery_stays_unpublished_until_it_is_done(container, clock):
    registry = HandlerRegistry()
    failing = [True]

    def flaky(_event: dict[str, Any], _factory: UowFactory) -> None:
        if failing[0]:
            raise RuntimeError("down")

    registry.add("*", "test.flaky", flaky)
    registry.add("*", "test.skips_odd", skip_odd)
    [message_id] = record(container, made(1))
    relay = relay_for(container.uow, registry, container)

    report = relay.run_once()

    assert (report.skipped, report.retried, report.published) == (1, 1, 0)
    assert [m.published_at for m in outbox(container)] == [None]
    assert not relay.has_work()  # the retry is scheduled for later: nothing is due now

    failing[0] = False
    clock.advance(seconds=POLICY.longest_delay(1).total_seconds())
    assert relay.has_work()
    report = relay.run_once()

    assert (report.delivered, report.published) == (1, 1)
    assert {d.status for d in deliveries(container)} == {"delivered", "skipped"}
    assert outbox(container)[0].id == message_id
    assert outbox(container)[0].published_at == clock.now()


def test_a_skip_whose_claim_was_lost_records_nothing(container, clock):
    registry = HandlerRegistry()
    calls: list[str] = []
    slow_relay: list[Relay] = []

    def skip_after_the_lease(event: dict[str, Any], _factory: UowFactory) -> None:
        calls.append(event["id"])
        if len(calls) == 1:
            # meanwhile the lease ran out and another relay took the delivery and skipped it
            clock.advance(seconds=slow_relay[0].lease.total_seconds() + 1)
            relay_for(container.uow, registry, container).run_once()
        raise SkipDelivery("gone")

    registry.add("*", "test.skips", skip_after_the_lease)
    [message_id] = record(container, made(2))
    slow = relay_for(container.uow, registry, container)
    slow_relay.append(slow)

    report = slow.run_once()

    assert (report.lost_claims, report.skipped) == (1, 0)
    assert calls == [message_id, message_id]
    [row] = deliveries(container)
    assert (row.status, row.attempts, row.last_error) == ("skipped", 2, "gone")
    assert outbox(container)[0].published_at is not None


def test_the_idle_probe_finds_unplanned_and_due_work_only(container):
    registry = HandlerRegistry()
    registry.add("*", "test.plain", lambda _e, _f: None)
    relay = relay_for(container.uow, registry, container)

    assert not relay.has_work()
    record(container, made(1))
    assert relay.has_work()  # not planned yet
    relay._plan(RelayReport())
    assert relay.has_work()  # planned: its delivery is due
    assert relay.run_once().delivered == 1
    assert not relay.has_work()

    unwanted = HandlerRegistry()  # an event no handler wants is published at planning
    record(container, made(2))
    assert relay_for(container.uow, unwanted, container).run_once().published == 1
    assert not relay.has_work()


def test_the_idle_probe_is_one_statement(container):
    relay = relay_for(container.uow, HandlerRegistry(), container)
    before = container.counter.value

    assert relay.has_work() is False

    assert container.counter.value - before == 1


def test_an_idle_relay_notices_an_event_recorded_while_it_waits(container):
    registry = HandlerRegistry()
    delivered = threading.Event()
    registry.add("*", "test.plain", lambda _e, _f: delivered.set())
    relay = relay_for(container.uow, registry, container)
    runner = threading.Thread(target=relay.run_forever, args=(0.02,), daemon=True)
    runner.start()
    try:
        time.sleep(0.1)  # the relay found nothing and idles, probing
        record(container, made(3))
        assert delivered.wait(30)
    finally:
        relay.stopping.set()
        runner.join(30)
    assert not runner.is_alive()
    assert [d.status for d in deliveries(container)] == ["delivered"]


def test_a_handler_added_after_planning_began_is_planned_for_new_events(container):
    registry = HandlerRegistry()
    registry.add("*.thing_made", "test.first", lambda _e, _f: None)
    relay = relay_for(container.uow, registry, container)
    record(container, made(1))
    relay.run_until_idle()

    registry.add("*", "test.second", lambda _e, _f: None)
    [second] = record(container, made(2))
    relay.run_until_idle()

    handlers = sorted(d.handler for d in deliveries(container) if d.message_id == second)
    assert handlers == ["test.first", "test.second"]


class RecordCounting(Relay):
    """Counts the transactions and statements that record outcomes."""

    records: list[int]

    def _record_done(self, claims: Any, skips: Any, report: RelayReport) -> None:
        before = self.counter.value
        super()._record_done(claims, skips, report)
        if claims:
            self.records.append(self.counter.value - before)


def test_a_batch_handlers_outcomes_are_recorded_with_the_rest_of_the_pass(container):
    registry = HandlerRegistry()
    registry.add(
        "*",
        "test.batch_skips_first",
        lambda _e, _f: None,
        batch=lambda events, _f: {events[0]["id"]: "the first is not for me"},
    )
    registry.add("*", "test.batch_plain", lambda _e, _f: None, batch=lambda _events, _f: None)
    registry.add("*", "test.skips_odd", skip_odd)
    ids = record(container, *(made(n) for n in range(4)))
    relay = RecordCounting(container.uow, registry, policy=POLICY, rng=random.Random(3))
    relay.counter, relay.records = container.counter, []

    report = relay.run_once()

    assert (report.delivered, report.skipped, report.published) == (3 + 4 + 2, 1 + 2, 4)
    # one transaction for the twelve outcomes; on PostgreSQL three statements: its plans
    # made for the tables as they are, the outcomes with the outbox rows locked, then the
    # complete messages published
    assert len(relay.records) == 1
    if container.engine.dialect.name == "postgresql":
        assert relay.records == [3]
    outcomes = {(d.handler, d.message_id): d for d in deliveries(container)}
    first = outcomes[("test.batch_skips_first", ids[0])]
    assert (first.status, first.last_error, first.delivered_at) == (
        "skipped",
        "the first is not for me",
        None,
    )
    assert {outcomes[("test.batch_plain", i)].status for i in ids} == {"delivered"}
    assert {d.claim_token for d in outcomes.values()} == {None}
    assert all(m.published_at == container.clock.now() for m in outbox(container))


class _Waits(threading.Event):
    """The relay's stop flag, recording how long each wait would be (and not waiting)."""

    def __init__(self, stop_after: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.stop_after = stop_after

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(float(timeout or 0))
        if len(self.waits) >= self.stop_after:
            self.set()
        return self.is_set()


def test_a_short_pass_lingers_before_the_next_and_a_full_batch_does_not(container):
    registry = HandlerRegistry()
    registry.add("*", "test.plain", lambda _event, _f: None)

    def run(events: int) -> list[float]:
        record(container, *(made(n) for n in range(events)))
        stopping = _Waits(stop_after=2)
        relay = Relay(
            container.uow,
            registry,
            batch_size=8,
            read_uow_factory=container.read_uow,
            linger_seconds=0.5,
            stopping=stopping,
        )
        relay.run_forever(interval=7.0)
        return stopping.waits

    # a full batch passes again at once; the empty pass after it probes every interval
    assert run(8) == [7.0, 7.0]
    # one delivery (under a quarter of a batch): the relay lingers, then finds nothing
    assert run(1) == [0.5, 7.0]


def test_a_claim_buries_the_spent_and_leases_the_rest_in_lane_order(container, clock):
    """On PostgreSQL in one statement: both lanes read, the spent delivery buried, the rest
    leased, the foreground lane's first."""
    registry = HandlerRegistry()
    registry.add("*", "test.late", lambda _e, _f: None, background=True)
    registry.add("*", "test.first", lambda _e, _f: None)
    ids = record(container, made(1), made(2))
    relay = relay_for(container.uow, registry, container)
    relay._plan(RelayReport())
    spent = next(d for d in deliveries(container) if d.handler == "test.first")
    with container.uow() as uow:  # a relay died during the last attempt of the first
        uow.session.execute(
            update(Delivery)
            .where(Delivery.id == spent.id)
            .values(status="sending", attempts=POLICY.max_attempts)
        )
    report = RelayReport()
    before = container.counter.value

    claims = relay._claim(report)

    if container.engine.dialect.name == "postgresql":
        assert container.counter.value - before == 1
    assert [(c.handler, c.message_id, c.attempt) for c in claims] == [
        ("test.first", ids[1], 1),
        ("test.late", ids[0], 1),
        ("test.late", ids[1], 1),
    ]
    assert claims[0].event["data"] == {"n": 2}
    assert claims[0].event["time"] == clock.now().isoformat().replace("+00:00", "Z")
    assert report.dead == 1
    rows = {d.id: d for d in deliveries(container)}
    assert (rows[spent.id].status, rows[spent.id].claim_token) == ("dead", None)
    assert rows[spent.id].last_error == LOST_LEASE
    assert {rows[c.delivery_id].claim_token for c in claims} == {claims[0].token}
    assert {rows[c.delivery_id].status for c in claims} == {"sending"}


def test_a_pass_with_nothing_to_plan_reads_no_webhook_subscriptions(container):
    registry = HandlerRegistry()
    registry.add("*", "test.plain", lambda _e, _f: None)
    registry.add_source(WebhookSource(container.clock, timeout_seconds=1))
    relay = relay_for(container.uow, registry, container)
    record(container, made(1))
    relay.run_once()
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        seen.append(sql)

    event.listen(container.engine, "before_cursor_execute", capture)
    try:
        assert not relay.run_once().did_work
    finally:
        event.remove(container.engine, "before_cursor_execute", capture)

    assert not [sql for sql in seen if "webhook_subscriptions" in sql]
    if container.engine.dialect.name == "postgresql":
        assert len(seen) == 3  # plans made for the tables, the unplanned messages, the claim
