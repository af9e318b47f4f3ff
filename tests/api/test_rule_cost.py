"""A rule's work is bounded (``kernel.cel``): a comprehension inside another's body (the
outside probe's ``map`` in ``map``, which ran a segment preview for minutes and a cart's
pricing for seconds) is refused with a 422 problem+json that says which limit, on every route
that saves or tries a rule: promotions, dynamic pricing rules, segments (save and preview)
and journeys (trigger condition and condition step). A rule stored before the limits matches
nobody instead of breaking a refresh or an event's handling; the segment preview stops after
``segment_preview_seconds``."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import update

from omniretail.marketing import service
from omniretail.marketing.errors import SegmentRuleTooSlow
from omniretail.marketing.journeys_definition import JourneyDefinition
from omniretail.marketing.journeys_triggers import _triggered
from omniretail.marketing.schemas import SegmentCreate
from omniretail.marketing.segments_models import Segment
from tests.conftest import admin_api_key
from tests.customers.helpers import make_customer, vault
from tests.orders.network import make_orders_network, ok

DIGITS = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
NESTED = f"size({DIGITS}.map(a, {DIGITS}.map(b, {DIGITS}))) > 0"
SAID = "too costly to evaluate: map() inside the body of map()"


def _refused(response, field: str | None = None) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert SAID in problem["detail"], problem
    if field is not None:
        assert problem["field"] == field
    return str(problem["type"])


def test_a_promotion_condition_over_the_limits_is_refused(container, client):
    body = {"name": "Probe", "effect": {"type": "percent_off", "percent": "5"}}
    kind = _refused(
        client.put("/api/v1/pricing/promotions/PROBE", json={**body, "condition": NESTED}),
        "condition",
    )
    assert kind.endswith("/invalid-promotion")
    assert client.get("/api/v1/pricing/promotions/PROBE").status_code == 404
    made = client.put("/api/v1/pricing/promotions/PROBE", json={**body, "condition": "units > 1"})
    assert made.status_code in (200, 201), made.text
    broken = client.put(
        "/api/v1/pricing/promotions/PROBE", json={**body, "condition": "units >"}
    ).json()
    assert broken["detail"].startswith("the condition is not valid CEL: ")


def test_a_dynamic_pricing_condition_over_the_limits_is_refused(container, client):
    make_orders_network(container)
    rule = {"name": "Probe", "channel": "WEB", "percent": "5", "condition": NESTED}
    kind = _refused(client.put("/api/v1/dynamic-pricing/rules/probe", json=rule), "condition")
    assert kind.endswith("/invalid-rule-condition")
    assert client.get("/api/v1/dynamic-pricing/rules/probe").status_code == 404


def test_a_segment_rule_over_the_limits_is_refused_saved_or_previewed(container, client):
    make_customer(container, "Pia Probe")
    rule = f"orders >= 0 && {NESTED}"
    for url, body in (
        ("/api/v1/marketing/segments/preview", {"rule": rule}),
        ("/api/v1/marketing/segments", {"name": "Probe", "rule": rule}),
    ):
        assert _refused(client.post(url, json=body), "rule").endswith("/invalid-segment-rule")
    assert ok(client.get("/api/v1/marketing/segments")) == []


def test_a_journey_rule_over_the_limits_is_refused(container, client):
    headers = {"X-API-Key": admin_api_key(container)}

    def body(condition: str, rule: str) -> dict:
        trigger = {"kind": "event", "event": "orders.order_confirmed", "condition": condition}
        steps = [
            {"kind": "condition", "id": "c", "rule": rule, "then": "e", "otherwise": "e"},
            {"kind": "exit", "id": "e"},
        ]
        return {
            "code": "probe",
            "name": "Probe",
            "definition": {"trigger": trigger, "steps": steps},
        }

    url = "/api/v1/marketing/journeys"
    nested_event = f"size({DIGITS}.map(a, {DIGITS}.map(b, event.total))) > 0"
    trigger = client.post(url, json=body(nested_event, "orders >= 0"), headers=headers)
    _refused(trigger, "definition.trigger.condition")
    _refused(client.post(url, json=body("", NESTED), headers=headers), "definition.steps.0.rule")
    assert client.get(url, headers=headers).json() == []
    made = client.post(url, json=body("event.total > 5.0", "orders >= 0"), headers=headers)
    assert made.status_code == 201, made.text


def test_a_rule_stored_before_the_limits_matches_nobody_and_breaks_nothing(container, clock):
    cid = make_customer(container, "Sam Stored")
    with container.uow() as uow:
        sid = service.create_segment(uow, SegmentCreate(name="Old", rule="orders >= 0")).id
        uow.session.execute(update(Segment).where(Segment.id == sid).values(rule=NESTED))
    report = service.refresh(container.uow, vault=vault(container))
    assert report.customers == 1 and report.entered == 0
    with container.uow() as uow:
        assert service.evaluate_customers(uow, [cid], vault=vault(container)) == (0, 0)

    @dataclasses.dataclass
    class Registered:
        customer_id: int

    definition = JourneyDefinition.model_validate(
        {
            "trigger": {"kind": "event", "event": "customers.registered", "condition": NESTED},
            "steps": [{"kind": "exit", "id": "e"}],
        }
    )
    assert not _triggered(definition, "customers.registered", Registered(cid))


def test_the_segment_preview_stops_after_its_budget(container, client):
    make_customer(container, "Bea Budget")
    container.settings.segment_preview_seconds = 1e-9
    slow = client.post("/api/v1/marketing/segments/preview", json={"rule": "orders >= 0"})
    assert slow.status_code == 422, slow.text
    assert slow.headers["content-type"].startswith("application/problem+json")
    assert slow.json()["type"].endswith("/segment-rule-too-slow")
    assert "stopped after" in slow.json()["detail"]
    with container.read_uow() as uow:
        done = service.preview(uow, "orders >= 0", vault=vault(container), with_names=False)
        assert done.evaluated == 1
        with pytest.raises(SegmentRuleTooSlow) as stopped:
            service.preview(uow, "orders >= 0", vault=vault(container), with_names=False, seconds=0)
        assert stopped.value.field == "rule"
