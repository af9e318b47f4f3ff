"""Bad input never gives a 500 and never writes: a 4xx problem+json naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from omniretail.auth.models import AuditEntry
from omniretail.bootstrap import Container
from omniretail.customers.models import Activity, Customer
from tests.factories import make_network, receive
from tests.inventory.state import snapshot

API = "/api/v1/inventory"
SKU = "10001"
PROBLEM_BASE = "https://omniretail.dev/problems/"
SALE = {"sku": SKU, "location": "LON1", "channel": "WEB", "quantity": 1}
HUGE = 10**30


@pytest.fixture
def stocked(container: Container) -> Container:
    make_network(container)
    receive(container, SKU, "LON1", 5)
    return container


def send(client: TestClient, method: str, path: str, body: Any) -> Any:
    if isinstance(body, bytes):
        return client.request(
            method, API + path, content=body, headers={"content-type": "application/json"}
        )
    return client.request(method, API + path, json=body)


CASES = [
    # (method, path, body, status, slug, field)
    ("POST", "/reservations", {**SALE, "sku": "NOPE"}, 404, "unknown-sku", "sku"),
    ("POST", "/reservations", {**SALE, "location": "NOPE"}, 404, "unknown-location", "location"),
    ("POST", "/reservations", {**SALE, "channel": "NOPE"}, 404, "unknown-channel", "channel"),
    (
        "POST",
        "/reservations",
        {**SALE, "location": "DC1", "channel": "POS"},
        422,
        "channel-location-mismatch",
        "location",
    ),
    ("POST", "/reservations", {**SALE, "quantity": 0}, 422, "validation-error", "quantity"),
    ("POST", "/reservations", {**SALE, "quantity": -3}, 422, "validation-error", "quantity"),
    ("POST", "/reservations", {**SALE, "quantity": 6}, 409, "out-of-stock", "quantity"),
    ("POST", "/reservations", {**SALE, "quantity": HUGE}, 422, "validation-error", "quantity"),
    ("POST", "/reservations", {**SALE, "quantity": "1"}, 422, "validation-error", "quantity"),
    ("POST", "/reservations", {**SALE, "quantity": True}, 422, "validation-error", "quantity"),
    ("POST", "/reservations", {**SALE, "quantity": 1.5}, 422, "validation-error", "quantity"),
    ("POST", "/reservations", {**SALE, "quantity": None}, 422, "validation-error", "quantity"),
    ("POST", "/reservations", {**SALE, "sku": 10001}, 422, "validation-error", "sku"),
    ("POST", "/reservations", {**SALE, "sku": ""}, 422, "validation-error", "sku"),
    ("POST", "/reservations", {**SALE, "sku": "X" * 41}, 422, "validation-error", "sku"),
    ("POST", "/reservations", {**SALE, "qty": 1}, 422, "validation-error", "qty"),
    (
        "POST",
        "/reservations",
        {k: v for k, v in SALE.items() if k != "channel"},
        422,
        "validation-error",
        "channel",
    ),
    ("POST", "/reservations", {}, 422, "validation-error", "sku"),
    ("POST", "/reservations", [SALE], 422, "validation-error", "body"),
    ("POST", "/reservations", b'{"sku": "10001",', 422, "validation-error", "body"),
    ("POST", "/reservations", b"", 422, "validation-error", "body"),
    ("POST", "/reservations", b"nonsense", 422, "validation-error", "body"),
    (
        "POST",
        "/reservations",
        b'{"sku":"10001","location":"LON1","channel":"WEB","quantity":' + b"9" * 5000 + b"}",
        400,
        "malformed-body",
        "body",
    ),
    (
        "POST",
        "/receipts",
        {"sku": SKU, "location": "LON1", "quantity": 0},
        422,
        "validation-error",
        "quantity",
    ),
    (
        "POST",
        "/receipts",
        {"sku": "NOPE", "location": "LON1", "quantity": 1},
        404,
        "unknown-sku",
        "sku",
    ),
    (
        "POST",
        "/write-offs",
        {"sku": SKU, "location": "LON1", "quantity": 6},
        409,
        "out-of-stock",
        "quantity",
    ),
    (
        "POST",
        "/adjustments",
        {"sku": SKU, "location": "LON1", "quantity_delta": 0, "reason": "x"},
        422,
        "validation-error",
        "quantity_delta",
    ),
    (
        "POST",
        "/adjustments",
        {"sku": SKU, "location": "LON1", "quantity_delta": 1},
        422,
        "validation-error",
        "reason",
    ),
    (
        "POST",
        "/adjustments",
        {"sku": SKU, "location": "LON1", "quantity_delta": -6, "reason": "lost"},
        409,
        "out-of-stock",
        "quantity",
    ),
    (
        "POST",
        "/counts",
        {"sku": SKU, "location": "LON1", "counted_quantity": -1},
        422,
        "validation-error",
        "counted_quantity",
    ),
    (
        "POST",
        "/counts",
        {"sku": SKU, "location": "LON1", "counted_quantity": 1, "source": "guess"},
        422,
        "validation-error",
        "source",
    ),
    ("POST", "/sales", {**SALE, "channel": "POS", "quantity": 6}, 409, "out-of-stock", "quantity"),
    ("POST", "/allocations", {**SALE, "quantity": 6}, 409, "out-of-stock", "quantity"),
    (
        "PUT",
        f"/policies/{SKU}/LON1",
        {"reorder_point": 5, "order_up_to": 2},
        422,
        "validation-error",
        "order_up_to",
    ),
    ("PUT", "/policies/NOPE/LON1", {"safety_stock": 1}, 404, "unknown-sku", "sku"),
    ("PUT", f"/policies/{SKU}/LON1", {"safety_stock": -1}, 422, "validation-error", "safety_stock"),
    (
        "POST",
        "/transfers",
        {"from_location": "DC1", "to_location": "DC1", "lines": [{"sku": SKU, "quantity": 1}]},
        422,
        "validation-error",
        "to_location",
    ),
    (
        "POST",
        "/transfers",
        {"from_location": "LON1", "to_location": "LON2", "lines": []},
        422,
        "validation-error",
        "lines",
    ),
    (
        "POST",
        "/transfers",
        {"from_location": "LON1", "to_location": "LON2", "lines": [{"sku": SKU, "quantity": 9}]},
        409,
        "out-of-stock",
        "lines.0.quantity",
    ),
    (
        "POST",
        "/transfers",
        {"from_location": "LON1", "to_location": "LON2", "lines": [{"sku": "NOPE", "quantity": 1}]},
        404,
        "unknown-sku",
        "lines.0.sku",
    ),
    (
        "POST",
        "/transfers",
        {"from_location": "NOPE", "to_location": "LON2", "lines": [{"sku": SKU, "quantity": 1}]},
        404,
        "unknown-location",
        "from_location",
    ),
    ("POST", "/reservations/nope/sell", None, 404, "unknown-hold", "id"),
    ("POST", "/reservations/nope/refresh", None, 404, "unknown-hold", "id"),
    ("POST", "/allocations/nope/fulfil", None, 404, "unknown-hold", "id"),
    ("POST", "/transfers/nope/receive", None, 404, "unknown-transfer", "id"),
    ("POST", "/availability/query", {"skus": []}, 422, "validation-error", "skus"),
    ("POST", "/availability/query", {"skus": ["NOPE"]}, 404, "unknown-sku", "sku"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "slug", "field"),
    CASES,
    ids=[f"{c[0]} {c[1]} {c[4]}:{c[5]}#{i}" for i, c in enumerate(CASES)],
)
def test_bad_input_is_a_problem_and_writes_nothing(
    stocked, client, method, path, body, status, slug, field
):
    before = snapshot(stocked)
    r = send(client, method, path, body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == PROBLEM_BASE + slug
    assert problem["status"] == status
    assert problem["field"] == field
    assert problem["title"]
    assert problem["detail"] and len(problem["detail"]) < 500
    assert problem["instance"] == API + path
    assert snapshot(stocked) == before


def test_validation_problem_lists_every_error(stocked, client):
    r = client.post(f"{API}/reservations", json={"quantity": 0})
    problem = r.json()
    assert {e["field"] for e in problem["errors"]} == {"sku", "location", "channel", "quantity"}
    assert problem["detail"] == "sku: Field required"


def test_unknown_route_and_method_are_problems(client):
    r = client.get("/api/v1/nowhere")
    assert (r.status_code, r.headers["content-type"]) == (404, "application/problem+json")
    r = client.delete(f"{API}/reservations")
    assert (r.status_code, r.json()["type"]) == (405, PROBLEM_BASE + "method-not-allowed")


def test_a_huge_path_id_is_a_422_naming_it(stocked, client):
    before = snapshot(stocked)
    r = client.post(f"{API}/reservations/{'x' * 5000}/sell")
    assert (r.status_code, r.json()["type"]) == (422, PROBLEM_BASE + "validation-error")
    assert r.json()["field"] == "hold_id"
    r = client.post(f"{API}/reservations/{'x' * 200}/sell")
    assert (r.status_code, r.json()["type"]) == (404, PROBLEM_BASE + "unknown-hold")
    assert snapshot(stocked) == before


SCRIPT_T = "\N{MATHEMATICAL BOLD SCRIPT CAPITAL T}"


def test_a_code_in_the_path_longer_than_a_code_is_a_422_and_saves_nothing(stocked, client):
    """The path names the location or channel to save; 41 characters (here 41 of the
    mathematical script letters a fuzzer likes) cannot be a code, on either database."""
    locations_before = client.get("/api/v1/locations").json()
    channels_before = client.get("/api/v1/channels").json()
    body = {"name": "Too long", "kind": "store", "latitude": 51.5, "longitude": -0.1}
    r = client.put(f"/api/v1/locations/{SCRIPT_T * 41}", json={"code": "X", **body})
    assert (r.status_code, r.json()["type"], r.json()["field"]) == (
        422,
        PROBLEM_BASE + "validation-error",
        "code",
    )
    channel = {"code": "X", "name": "x", "kind": "web"}
    r = client.put(f"/api/v1/channels/{SCRIPT_T * 41}", json=channel)
    assert (r.status_code, r.json()["field"]) == (422, "code")
    assert client.get("/api/v1/locations").json() == locations_before
    assert client.get("/api/v1/channels").json() == channels_before
    saved = client.put(f"/api/v1/locations/{'L' * 40}", json={"code": "X", **body})
    assert (saved.status_code, saved.json()["code"]) == (200, "L" * 40)


OUT_OF_RANGE = [
    ("GET", f"/api/v1/customers/{HUGE}", None),
    ("GET", f"/api/v1/customers/{HUGE}/360", None),
    ("GET", f"/api/v1/customers/{HUGE}/timeline", None),
    ("GET", f"/api/v1/carts?customer_id={HUGE}", None),
    (
        "POST",
        "/api/v1/events",
        {
            "events": [
                {"type": "page_view", "customer_id": HUGE, "occurred_at": "2026-11-01T10:00:00Z"}
            ]
        },
    ),
]


@pytest.mark.parametrize(("method", "path", "body"), OUT_OF_RANGE, ids=lambda v: str(v)[:40])
def test_an_id_too_large_for_the_database_is_a_422_and_writes_nothing(
    container, client, method, path, body
):
    def written() -> tuple[Any, ...]:
        with container.engine.connect() as conn:
            rows = tuple(
                conn.scalar(select(func.count()).select_from(model))
                for model in (Activity, AuditEntry, Customer)
            )
        return (snapshot(container), *rows)

    before = written()
    response = client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    # The schema bounds every id by its column, so this is caught before the database.
    assert response.json()["type"] == PROBLEM_BASE + "validation-error"
    assert response.json()["field"] in ("customer_id", "events.0.customer_id")
    assert written() == before
