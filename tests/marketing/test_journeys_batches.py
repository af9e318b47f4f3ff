"""The journeys' trigger handler takes the relay's batches: a pass's events enter their
customers and take the first steps together (one transaction), with the outcome of one by one;
a poisoned event fails alone. Sending is replaced by a recorder (``journeys_ports``). SQLite
and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from omniretail.marketing import journeys_ports as ports
from omniretail.marketing.events import SegmentEntered, SegmentExited
from omniretail.marketing.journeys_models import Run
from omniretail.messaging.models import Delivery
from tests.customers.helpers import make_customer
from tests.marketing.test_journeys import definition, live, sent  # noqa: F401

HANDLER = "marketing.journeys.marketing.segment_entered"


def record(container, *events):
    """Commit typed events in one transaction; returns their envelope ids."""
    with container.uow() as uow:
        for event in events:
            uow.record(event)
        envelopes = list(uow._events)
    return [e.id for e in envelopes]


def runs(container):
    with container.read_uow() as uow:
        return list(uow.session.scalars(select(Run).order_by(Run.id)))


def deliveries_of(container, handler):
    with container.read_uow() as uow:
        return list(
            uow.session.scalars(
                select(Delivery).where(Delivery.handler == handler).order_by(Delivery.id)
            )
        )


def test_a_batch_of_events_enters_each_customer_and_takes_the_first_steps_at_once(
    container,
    sent,  # noqa: F811
    monkeypatch,
):
    calls: list[int] = []
    recorder = ports.queue_sends
    monkeypatch.setattr(
        ports, "queue_sends", lambda uow, reqs: calls.append(len(reqs)) or recorder(uow, reqs)
    )
    d = definition(
        trigger={"kind": "segment_entered", "segment_id": 7},
        steps=[
            {"kind": "send", "id": "hello", "message": "m"},
            {"kind": "wait", "id": "w", "days": 3},
            {"kind": "send", "id": "again", "message": "m"},
        ],
        exit_on=["marketing.segment_exited"],
    )
    jid = live(container, "seg", d)
    people = [make_customer(container, f"P{n}") for n in range(5)]
    record(
        container,
        *(SegmentEntered(segment_id=7, customer_id=c) for c in people),
        SegmentEntered(segment_id=8, customer_id=people[0]),  # another segment: no entry
        SegmentEntered(segment_id=7, customer_id=people[1]),  # running already: no second run
        SegmentExited(segment_id=7, customer_id=people[2]),  # ends that run after its first step
    )

    container.relay().run_until_idle()

    assert calls == [5]  # every first step in one go
    assert sorted(s["customer_id"] for s in sent.sends) == sorted(people)
    assert {s["key"].split(":")[1] for s in sent.sends} == {"hello"}
    found = runs(container)
    assert sorted(r.customer_id for r in found) == sorted(people)
    assert {r.journey_id for r in found} == {jid}
    states = {r.customer_id: (r.state, r.step_id) for r in found}
    assert states[people[2]] == ("exited", "again")
    assert {states[c] for c in people if c != people[2]} == {("active", "again")}
    assert {(d.status, d.attempts) for d in deliveries_of(container, HANDLER)} == {("delivered", 1)}


def test_a_poisoned_event_in_a_batch_fails_alone(container, sent, monkeypatch):  # noqa: F811
    d = definition(
        trigger={"kind": "segment_entered", "segment_id": 7},
        steps=[{"kind": "send", "id": "hello", "message": "m"}],
    )
    live(container, "seg", d)
    people = [make_customer(container, f"P{n}") for n in range(4)]
    poisoned = people[2]
    recorder = ports.queue_sends

    def queue(uow, reqs):
        if any(r["customer_id"] == poisoned for r in reqs):
            raise RuntimeError("cannot queue")
        return recorder(uow, reqs)

    monkeypatch.setattr(ports, "queue_sends", queue)
    ids = record(container, *(SegmentEntered(segment_id=7, customer_id=c) for c in people))

    container.relay().run_once()

    assert sorted(s["customer_id"] for s in sent.sends) == sorted(
        c for c in people if c != poisoned
    )
    assert sorted(r.customer_id for r in runs(container)) == sorted(
        c for c in people if c != poisoned
    )
    by_event = {d.message_id: d for d in deliveries_of(container, HANDLER)}
    assert (by_event[ids[2]].status, by_event[ids[2]].attempts) == ("pending", 1)
    assert by_event[ids[2]].last_error == "RuntimeError: cannot queue"
    assert {by_event[i].status for i in ids if i != ids[2]} == {"delivered"}
