"""Journeys engine: versions, entering, every step kind, waits in the customer's zone, splits,
exits, goals, triggers from events and the API. Sending is another branch: the adapter
``journeys_ports`` is replaced here by a recorder. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from omniretail.carts.events import CartLineAdded
from omniretail.marketing import journeys_ports as ports
from omniretail.marketing import service
from omniretail.marketing.journeys_definition import JourneyDefinition
from omniretail.marketing.journeys_models import Run, RunStep
from omniretail.marketing.journeys_triggers import on_event, on_events
from omniretail.marketing.schemas import JourneyCreate
from omniretail.messaging.handlers import EventMeta
from omniretail.orders.events import OrderConfirmed
from tests.conftest import admin_api_key
from tests.customers.helpers import make_customer

ADMIN = "admin"


@pytest.fixture
def sent(monkeypatch):
    recorded: list[dict] = []
    attributes: list[tuple] = []
    monkeypatch.setattr(ports, "queue_sends", lambda uow, reqs: recorded.extend(reqs) or len(reqs))
    monkeypatch.setattr(
        ports, "set_attribute", lambda uow, cid, name, value: attributes.append((cid, name, value))
    )
    recorded_attrs = attributes
    return SimpleNamespace(sends=recorded, attributes=recorded_attrs)


def definition(**data):
    base = {"trigger": {"kind": "event", "event": "customers.registered"}}
    return JourneyDefinition.model_validate({**base, **data})


def live(container, code, d):
    with container.uow() as uow:
        j = service.create_journey(uow, JourneyCreate(code=code, name=code, definition=d))
        service.publish(uow, code, actor=ADMIN)
    return j.id


def run_of(container, run_id):
    with container.read_uow() as uow:
        return uow.session.get(Run, run_id)


def journal(container, run_id):
    with container.read_uow() as uow:
        return dict(
            uow.session.execute(
                select(RunStep.step_id, RunStep.outcome).where(RunStep.run_id == run_id)
            ).all()
        )


def enter(container, journey_id, customer, occurrence="e1", context=None):
    with container.uow() as uow:
        return service.enter(uow, journey_id, customer, occurrence, context or {})


def test_send_wait_split_condition_attribute_exit(container, clock, sent):
    c = make_customer(container, "Ada Lovelace")
    d = definition(
        steps=[
            {"kind": "send", "id": "hello", "message": "welcome", "channel": "email"},
            {"kind": "wait", "id": "pause", "days": 1},
            {
                "kind": "split",
                "id": "ab",
                "branches": [{"name": "A", "percent": 50}, {"name": "B", "percent": 50}],
            },
            {"kind": "condition", "id": "buyer", "rule": "orders > 0", "otherwise": "tag"},
            {"kind": "send", "id": "thanks", "message": "thanks", "next": "end"},
            {"kind": "attribute", "id": "tag", "name": "nudged", "value": "yes"},
            {"kind": "exit", "id": "end"},
        ]
    )
    jid = live(container, "welcome", d)
    run_id = enter(container, jid, c, "e1", {"sku": "A1"})
    assert run_id is not None
    assert enter(container, jid, c, "e2") is None  # never twice at a time
    assert service.advance_due(container.uow) == 1
    assert [s["key"] for s in sent.sends] == [f"j{jid}v1:hello:c{c}:e1"]
    assert sent.sends[0]["context"] == {"sku": "A1"}
    run = run_of(container, run_id)
    assert (run.state, run.step_id) == ("active", "ab")
    assert service.advance_due(container.uow) == 0  # waiting a day
    clock.advance(days=1, seconds=1)
    assert service.advance_due(container.uow) == 1
    run = run_of(container, run_id)
    assert run.state == "exited" and run.exit_reason == "exit step"
    steps = journal(container, run_id)
    assert steps["buyer"] == "otherwise" and steps["tag"] == "attribute"
    assert steps["ab"] == f"branch:{run.branches['ab']}"
    assert sent.attributes == [(c, "nudged", "yes")]
    assert len(sent.sends) == 1


def test_versions_pause_and_exit_rules(container, clock, sent):
    c = make_customer(container, "Bo Brown")
    d = definition(
        steps=[
            {"kind": "wait", "id": "w", "hours": 2},
            {"kind": "send", "id": "s", "message": "m1"},
        ],
        exit_on=["orders.order_confirmed"],
    )
    jid = live(container, "vers", d)
    run_id = enter(container, jid, c)
    service.advance_due(container.uow)
    d2 = definition(
        steps=[{"kind": "send", "id": "s", "message": "m2"}], exit_on=["orders.order_confirmed"]
    )
    with container.uow() as uow:
        assert service.save_draft(uow, "vers", d2, actor=ADMIN).latest_version == 2
        assert service.publish(uow, "vers", actor=ADMIN).live_version == 2
        service.pause(uow, "vers")
    clock.advance(hours=3)
    assert service.advance_due(container.uow) == 0  # paused: nobody moves
    with container.uow() as uow:
        service.resume(uow, "vers")
    assert service.advance_due(container.uow) == 1
    assert [s["message"] for s in sent.sends] == ["m1"]  # kept version 1
    assert run_of(container, run_id).state == "completed"
    other = make_customer(container, "Cy Cole")
    second = enter(container, jid, other)
    assert run_of(container, second).version == 2
    event = OrderConfirmed(
        order="W-1",
        customer_id=other,
        channel="WEB",
        total="10",
        routing_version=1,
        fulfilments=[],
        lines=[],
    )
    with container.uow() as uow:
        on_event(uow, event, EventMeta("ev1", "s", clock.now()))
    run = run_of(container, second)
    assert (run.state, run.exit_reason) == ("exited", "orders.order_confirmed")
    assert (run.conversion_ref, str(run.revenue)) == ("W-1", "10.00")


def test_api_crud_and_permissions(container, client, sent):
    headers = {"X-API-Key": admin_api_key(container)}
    body = {
        "code": "api-j",
        "name": "API",
        "definition": {
            "trigger": {"kind": "event", "event": "customers.registered"},
            "steps": [{"kind": "send", "id": "s", "message": "m"}],
        },
    }
    assert client.post("/api/v1/marketing/journeys", json=body, headers=headers).status_code == 201
    r = client.post("/api/v1/marketing/journeys", json=body, headers=headers)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem")
    r = client.post("/api/v1/marketing/journeys/api-j/publish", headers=headers)
    assert r.json()["status"] == "live" and r.json()["live_version"] == 1
    r = client.get("/api/v1/marketing/journeys/api-j/versions", headers=headers)
    assert [v["live"] for v in r.json()] == [True]
    assert client.get("/api/v1/marketing/journeys/api-j/runs", headers=headers).json() == []
    anonymous = client.get("/api/v1/marketing/journeys", headers={"X-API-Key": "nope"})
    assert anonymous.status_code == 401


def test_a_condition_step_whose_rule_is_broken_or_names_no_fact_is_refused(container, client):
    headers = {"X-API-Key": admin_api_key(container)}

    def body(rule):
        steps = [
            {"kind": "send", "id": "s", "message": "m"},
            {"kind": "condition", "id": "c", "rule": rule, "then": "e", "otherwise": "e"},
            {"kind": "exit", "id": "e"},
        ]
        trigger = {"kind": "event", "event": "customers.registered"}
        return {
            "code": "rules",
            "name": "Rules",
            "definition": {"trigger": trigger, "steps": steps},
        }

    for rule, detail in (("orders ==", "step c: "), ("ordrs == 0", "step c: ordrs: no such")):
        refused = client.post("/api/v1/marketing/journeys", json=body(rule), headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"].startswith(detail)
        assert refused.json()["field"] == "definition.steps.1.rule"
    assert client.get("/api/v1/marketing/journeys", headers=headers).json() == []
    made = client.post("/api/v1/marketing/journeys", json=body("orders == 0"), headers=headers)
    assert made.status_code == 201
    edited = client.put(
        "/api/v1/marketing/journeys/rules/draft",
        json=body("spnd > 1.0")["definition"],
        headers=headers,
    )
    assert edited.status_code == 422 and "spnd: no such customer fact" in edited.json()["detail"]
    versions = client.get("/api/v1/marketing/journeys/rules/versions", headers=headers).json()
    assert [v["definition"]["steps"][1]["rule"] for v in versions] == ["orders == 0"]


def test_an_event_trigger_whose_condition_is_broken_or_reads_no_event_is_refused(container, client):
    headers = {"X-API-Key": admin_api_key(container)}

    def body(condition):
        trigger = {"kind": "event", "event": "orders.order_confirmed", "condition": condition}
        steps = [{"kind": "send", "id": "s", "message": "m"}]
        return {"code": "trig", "name": "Trig", "definition": {"trigger": trigger, "steps": steps}}

    for condition, detail in (
        ("event.total >", "the trigger's condition: "),
        ("order.total > 50", "the trigger's condition reads order: "),
    ):
        refused = client.post("/api/v1/marketing/journeys", json=body(condition), headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"].startswith(detail), refused.json()
        assert refused.json()["field"] == "definition.trigger.condition"
    assert client.get("/api/v1/marketing/journeys", headers=headers).json() == []
    made = client.post("/api/v1/marketing/journeys", json=body("event.total > 50"), headers=headers)
    assert made.status_code == 201, made.text


def test_parallel_workers_never_run_a_step_twice(container, backend, sent):
    if backend != "postgres":
        pytest.skip("SKIP LOCKED and concurrent transactions: PostgreSQL")
    d = definition(steps=[{"kind": "send", "id": "s", "message": "m"}])
    jid = live(container, "par", d)
    ids = [make_customer(container, f"P {i}") for i in range(60)]
    for cid in ids:
        enter(container, jid, cid)
    counts: list[int] = []

    def work():
        counts.append(service.advance_due(container.uow, limit=7))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 60
    assert len({s["key"] for s in sent.sends}) == len(sent.sends) == 60
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count(RunStep.id))) == 60


def test_parallel_enters_give_one_active_run(container, backend):
    if backend != "postgres":
        pytest.skip("concurrent transactions: PostgreSQL")
    d = definition(steps=[{"kind": "wait", "id": "w", "days": 1}])
    jid = live(container, "one", d)
    c = make_customer(container, "Once Only")
    barrier = threading.Barrier(4)
    got: list[int | None] = []

    def go(i):
        barrier.wait()
        got.append(enter(container, jid, c, f"occ{i}"))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([g for g in got if g is not None]) == 1


def test_api_lists_and_installs_the_classics(container, client):
    headers = {"X-API-Key": admin_api_key(container)}
    listed = client.get("/api/v1/marketing/journey-classics", headers=headers).json()
    assert {c["code"] for c in listed} >= {"welcome-series", "abandoned-cart", "win-back"}
    assert not any(c["installed"] for c in listed)
    r = client.post("/api/v1/marketing/journey-classics/win-back/install", headers=headers)
    assert r.status_code == 201, r.text
    assert (r.json()["code"], r.json()["status"]) == ("win-back", "draft")
    again = client.post("/api/v1/marketing/journey-classics/win-back/install", headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    unknown = client.post("/api/v1/marketing/journey-classics/nothing/install", headers=headers)
    assert unknown.status_code == 404
    listed = client.get("/api/v1/marketing/journey-classics", headers=headers).json()
    assert [c["code"] for c in listed if c["installed"]] == ["win-back"]
    # its messages' buttons open this site's shop (OMNIRETAIL_PUBLIC_BASE_URL)
    site = container.settings.public_base_url.rstrip("/")
    message = client.get("/api/v1/marketing/messages/classic-winback-1", headers=headers)
    assert message.json()["link_url"] == f"{site}/shop", message.text


def test_guests_events_read_their_carts_owners_and_nothing_else(container, clock):
    """No customer among a batch's events: the live journeys are not even read."""
    live(
        container,
        "lines",
        definition(
            trigger={"kind": "event", "event": "orders.cart_line_added"},
            steps=[{"kind": "wait", "id": "w", "days": 1}],
        ),
    )
    guests = [
        (
            CartLineAdded(cart_id=f"guest-cart-{n}", sku="SKU-1", quantity=1),
            EventMeta(f"e{n}", "s", clock.now()),
        )
        for n in range(3)
    ]
    with container.uow() as uow:
        before = container.counter.value
        assert on_events(uow, guests) == 0
        assert container.counter.value - before == 1
