"""A pass that finds nothing due inserts the deliveries it would claim already claimed
(PostgreSQL; SQLite inserts them pending and claims them): the claim's lanes, limit and event
order, an older due delivery first, and a lease that runs out as any claim's (SQLite and
PostgreSQL: the outcome is the same on both)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from omniretail.bootstrap import Container
from omniretail.kernel.events import DomainEvent
from omniretail.messaging.handlers import HandlerRegistry, UowFactory
from omniretail.messaging.relay import Relay, RelayReport, RetryPolicy
from tests.messaging.conftest import deliveries, record

LEASE = timedelta(seconds=30)


def made(n: int) -> DomainEvent:
    return DomainEvent("test.thing_made", f"things/{n}", {"n": n})


class Seen:
    """Handlers that remember (handler name, event's n) in the order they ran."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def handler(self, name: str) -> Any:
        def handle(event: dict[str, Any], _uow_factory: UowFactory) -> None:
            self.calls.append((name, event["data"]["n"]))

        return handle


def relay_of(container: Container, registry: HandlerRegistry, batch_size: int = 100) -> Relay:
    policy = RetryPolicy(max_attempts=3)
    return Relay(
        container.uow,
        registry,
        policy=policy,
        batch_size=batch_size,
        lease=LEASE,
        rng=random.Random(1),
    )


def statements_of(container: Container, work: Any) -> list[str]:
    ran: list[str] = []

    def remember(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        ran.append(sql.lstrip())

    event.listen(container.engine, "before_cursor_execute", remember)
    try:
        work()
    finally:
        event.remove(container.engine, "before_cursor_execute", remember)
    return ran


def test_a_pass_with_nothing_due_writes_each_delivery_once_before_its_outcome(container, backend):
    seen = Seen()
    registry = HandlerRegistry()
    registry.add("*.thing_made", "test.a", seen.handler("test.a"))
    registry.add("*.thing_made", "test.b", seen.handler("test.b"))
    relay = relay_of(container, registry)
    record(container, made(1), made(2))

    ran = statements_of(container, relay.run_once)

    assert seen.calls == [("test.a", 1), ("test.b", 1), ("test.a", 2), ("test.b", 2)]
    assert [(d.status, d.attempts) for d in deliveries(container)] == [("delivered", 1)] * 4
    updates = [s for s in ran if "UPDATE deliveries" in s]
    # PostgreSQL: the outcomes only; SQLite: the claim, then the outcomes
    assert len(updates) == (1 if backend == "postgres" else 2)
    inserts = [s for s in ran if s.upper().startswith(("INSERT INTO DELIVERIES", "WITH IDLE"))]
    assert len(inserts) == 1


def test_a_delivery_due_from_before_is_claimed_first(container):
    seen = Seen()
    registry = HandlerRegistry()
    registry.add("*.thing_made", "test.a", seen.handler("test.a"))
    relay = relay_of(container, registry)
    record(container, made(1))
    relay._plan(RelayReport())  # planned, not claimed: due now
    record(container, made(2))

    report = relay.run_once()

    assert seen.calls == [("test.a", 1), ("test.a", 2)]  # one pass, in event order
    assert report.delivered == 2


def test_claimed_at_planning_are_the_claims_lanes_and_limit(container):
    seen = Seen()
    registry = HandlerRegistry()
    registry.add("*.thing_made", "test.front", seen.handler("test.front"))
    registry.add("*.thing_made", "test.back", seen.handler("test.back"), background=True)
    relay = relay_of(container, registry, batch_size=10)
    record(container, *[made(n) for n in range(1, 13)])

    relay.run_once()

    # nine foreground (a tenth of the batch kept for the background), then one background
    assert seen.calls == [("test.front", n) for n in range(1, 10)] + [("test.back", 1)]
    rows = deliveries(container)
    assert sum(d.status == "delivered" for d in rows) == 10
    assert {d.status for d in rows} == {"delivered", "pending"}
    assert relay.run_until_idle().delivered == 14  # the rest, in later passes
    assert len(seen.calls) == 24 and len(set(seen.calls)) == 24


def test_deliveries_claimed_at_planning_by_a_relay_that_died_are_taken_after_the_lease(
    container, clock
):
    seen = Seen()
    registry = HandlerRegistry()
    registry.add("*.thing_made", "test.a", seen.handler("test.a"))
    crashed = relay_of(container, registry)
    record(container, made(1), made(2))
    with container.uow() as uow:  # a pass's transaction, then the process dies
        token, report = "crashed-pass", RelayReport()
        claims = crashed._plan_in(uow, report, claim_as=token) or crashed._claim_in(
            uow, report, token
        )
    assert [c.attempt for c in claims] == [1, 1]
    assert {(d.status, d.claim_token) for d in deliveries(container)} == {("sending", token)}
    survivor = relay_of(container, registry)
    clock.advance(seconds=29)
    assert not survivor.run_once().did_work

    clock.advance(seconds=1)
    report = survivor.run_once()

    assert report.delivered == 2
    assert seen.calls == [("test.a", 1), ("test.a", 2)]
    assert [(d.status, d.attempts) for d in deliveries(container)] == [("delivered", 2)] * 2


def test_the_relays_statements_are_planned_for_the_tables_as_they_are(container, backend):
    """A generic plan made on near-empty tables (scanning them) would be kept as they grow."""
    if backend != "postgres":
        return  # no server-side plan cache
    seen = Seen()
    registry = HandlerRegistry()
    registry.add("*.thing_made", "test.a", seen.handler("test.a"))
    relay = relay_of(container, registry)
    for n in range(15):  # past the driver's preparing (5 runs) and the server's 5 custom plans
        record(container, made(n))
        assert relay.run_once().delivered == 1

    held = [container.engine.connect() for _ in range(4)]  # the pool's idle ones among them
    try:
        plans = [
            row
            for conn in held
            for row in conn.exec_driver_sql(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement LIKE 'WITH finished AS%%' OR statement LIKE 'WITH idle AS%%'"
            )
        ]
    finally:
        for conn in held:
            conn.close()
    assert {row.statement.split(" ", 3)[1] for row in plans} == {"finished", "idle"}
    assert [row.generic_plans for row in plans] == [0] * len(plans)
    assert sum(row.custom_plans for row in plans) >= 20
