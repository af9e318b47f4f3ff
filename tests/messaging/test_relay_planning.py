"""Planning reads only messages not planned yet (SQLite and PostgreSQL): it stamps
``planned_at`` on every message it plans, in the transaction that adds their deliveries (or
publishes them at once), and a message whose deliveries retry or are dead is not read again;
a message planned by a release that did not stamp it is not planned twice; the planning read
and the idle probe go through the partial index of unplanned messages."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import event, update

from omniretail.bootstrap import Container
from omniretail.db.outbox import OutboxMessage
from omniretail.kernel.events import DomainEvent
from omniretail.messaging import repository
from omniretail.messaging.handlers import HandlerRegistry, UowFactory
from omniretail.messaging.relay import Relay, RelayReport, RetryPolicy
from tests.messaging.conftest import deliveries, outbox, record

POLICY = RetryPolicy(max_attempts=1, base_seconds=10, cap_seconds=60)


def made(n: int) -> DomainEvent:
    return DomainEvent("test.thing_made", f"things/{n}", {"n": n})


def down(_event: dict[str, Any], _factory: UowFactory) -> None:
    raise RuntimeError("down")


def relay_with(container: Container, registry: HandlerRegistry) -> Relay:
    return Relay(container.uow, registry, policy=POLICY, rng=random.Random(5))


def unplanned(container: Container) -> list[str]:
    with container.uow() as uow:
        return [m.id for m in repository.lock_unplanned_messages(uow.session, 100, uow.now)]


def test_planned_messages_are_stamped_and_not_read_by_planning_again(container, clock):
    registry = HandlerRegistry()
    registry.add("*.thing_made", "test.down", down)
    relay = relay_with(container, registry)
    first = record(container, made(1), made(2))
    [unwanted] = record(container, DomainEvent("test.other_thing", "others/1", {}))

    report = relay.run_once()

    assert (report.planned, report.published, report.dead) == (3, 1, 2)
    rows = {m.id: m for m in outbox(container)}
    assert {m.planned_at for m in rows.values()} == {clock.now()}
    assert rows[unwanted].published_at == clock.now()  # no handler: published at planning
    assert [rows[i].published_at for i in first] == [None, None]  # dead letters stay open
    assert unplanned(container) == []
    assert not relay.has_work()

    clock.advance(seconds=5)
    [later] = record(container, made(3))
    assert relay.has_work()
    assert unplanned(container) == [later]
    assert relay.run_once().planned == 1
    assert {d.message_id for d in deliveries(container)} == {*first, later}
    assert [m.planned_at for m in outbox(container) if m.id == later] == [clock.now()]


def test_a_message_planned_without_the_stamp_is_stamped_not_planned_again(container, clock):
    """A relay of the release before ``planned_at`` (a rolling upgrade) left deliveries and
    no stamp: planning finds the deliveries, stamps the message and adds nothing."""
    registry = HandlerRegistry()
    registry.add("*", "test.down", down)
    relay = relay_with(container, registry)
    [message_id] = record(container, made(1))
    relay.run_once()
    before = [(d.id, d.status, d.attempts) for d in deliveries(container)]
    with container.uow() as uow:
        uow.session.execute(update(OutboxMessage).values(planned_at=None))
    clock.advance(seconds=5)

    relay._plan(RelayReport())

    assert [(d.id, d.status, d.attempts) for d in deliveries(container)] == before
    [message] = outbox(container)
    assert (message.id, message.planned_at) == (message_id, clock.now())
    assert unplanned(container) == []


def test_planning_and_the_idle_probe_read_the_index_of_unplanned_messages(container, backend):
    if backend != "sqlite":
        pytest.skip("PostgreSQL's plan follows its statistics (measured, not asserted)")
    registry = HandlerRegistry()
    registry.add("*", "test.down", down)
    relay = relay_with(container, registry)
    record(container, made(1), made(2))
    relay.run_once()
    record(container, made(3))
    ran: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, sql: str, params: Any, *_rest: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT") and "outbox" in sql:
            ran.append((sql, params))

    event.listen(container.engine, "before_cursor_execute", remember)
    try:
        assert relay.has_work()
        assert len(unplanned(container)) == 1
    finally:
        event.remove(container.engine, "before_cursor_execute", remember)

    assert len(ran) == 2  # the probe, then the planning read
    with container.engine.connect() as conn:
        for sql, params in ran:
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
            on_outbox = [step for step in plan if " outbox " in f"{step} "]
            assert on_outbox == ["SCAN outbox USING INDEX ix_outbox_unplanned"], plan
