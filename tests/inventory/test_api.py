"""The inventory use cases through HTTP: status codes, bodies, problem+json, events."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.inventory import service
from omniretail.inventory.schemas import SaleCreate
from tests.conftest import FixedClock, admin_api_key
from tests.factories import make_network, receive
from tests.inventory.state import (
    assert_verified,
    event_types_after,
    ledger,
    outbox_position,
    snapshot,
)

API = "/api/v1/inventory"
SKU = "10001"
PROBLEM = "application/problem+json"


@pytest.fixture
def net(container: Container) -> Container:
    make_network(container)
    return container


def reserve(client: TestClient, quantity: int = 1, location: str = "LON1") -> dict[str, Any]:
    r = client.post(
        f"{API}/reservations",
        json={"sku": SKU, "location": location, "channel": "WEB", "quantity": quantity},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def assert_problem(r: Any, status: int, slug: str, field: str | None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = dict(r.json())
    assert body["type"] == f"https://omniretail.dev/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body.get("field") == field
    return body


def test_receipt_adjustment_write_off_restock_and_sale(net, client):
    start = outbox_position(net)
    r = client.post(f"{API}/receipts", json={"sku": SKU, "location": "LON1", "quantity": 10})
    assert r.status_code == 201
    assert r.json() == {
        "sku": SKU,
        "location": "LON1",
        "on_hand": 10,
        "reserved": 0,
        "allocated": 0,
        "in_transit": 0,
        "safety_stock": 0,
        "available": 10,
        "reorder_point": None,
        "order_up_to": None,
    }
    r = client.post(
        f"{API}/adjustments",
        json={"sku": SKU, "location": "LON1", "quantity_delta": -2, "reason": "damaged"},
    )
    assert (r.status_code, r.json()["on_hand"]) == (201, 8)
    r = client.post(f"{API}/write-offs", json={"sku": SKU, "location": "LON1", "quantity": 1})
    assert (r.status_code, r.json()["on_hand"]) == (201, 7)
    r = client.post(f"{API}/return-restocks", json={"sku": SKU, "location": "LON1", "quantity": 1})
    assert (r.status_code, r.json()["on_hand"]) == (201, 8)
    r = client.post(
        f"{API}/sales", json={"sku": SKU, "location": "LON1", "channel": "POS", "quantity": 3}
    )
    assert (r.status_code, r.json()["on_hand"]) == (201, 5)
    assert event_types_after(net, start) == [
        "omniretail.inventory.received",
        "omniretail.inventory.adjusted",
        "omniretail.inventory.written_off",
        "omniretail.inventory.restocked",
        "omniretail.inventory.sold",
    ]
    r = client.get(f"{API}/ledger", params={"sku": SKU, "limit": 2})
    assert [m["kind"] for m in r.json()] == ["sale", "return_restock"]
    before_id = r.json()[-1]["id"]
    r = client.get(f"{API}/ledger", params={"sku": SKU, "before_id": before_id})
    assert [m["kind"] for m in r.json()] == ["write_off", "adjustment", "receipt"]
    assert client.get(f"{API}/stock", params={"location": "LON1"}).json()[0]["on_hand"] == 5
    assert_verified(net)


def test_reservation_lifecycle(net, client, clock: FixedClock):
    receive(net, SKU, "LON1", 5)
    hold = reserve(client, 2)
    assert hold["status"] == "active" and hold["expires_at"] == "2026-11-02T09:15:00Z"
    assert client.get(f"{API}/reservations/{hold['id']}").json() == hold
    clock.advance(minutes=5)
    r = client.post(f"{API}/reservations/{hold['id']}/refresh")
    assert r.json()["expires_at"] == "2026-11-02T09:20:00Z"
    r = client.post(f"{API}/reservations/{hold['id']}/allocate", json={"reference": "SO-1"})
    assert (r.status_code, r.json()["kind"], r.json()["reference"]) == (200, "order", "SO-1")
    assert_problem(client.get(f"{API}/reservations/{hold['id']}"), 404, "unknown-hold", "id")
    assert client.get(f"{API}/allocations/{hold['id']}").json()["kind"] == "order"
    r = client.post(f"{API}/allocations/{hold['id']}/fulfil")
    assert r.json()["status"] == "fulfilled"
    body = assert_problem(
        client.post(f"{API}/allocations/{hold['id']}/release"), 409, "hold-not-active", "id"
    )
    assert body["hold_status"] == "fulfilled"
    assert client.get(f"{API}/stock/{SKU}/LON1").json()["on_hand"] == 3
    assert_verified(net)


def test_allocate_without_a_body(net, client):
    receive(net, SKU, "LON1", 1)
    hold = reserve(client)
    r = client.post(f"{API}/reservations/{hold['id']}/allocate")
    assert (r.status_code, r.json()["kind"]) == (200, "order")


def test_sell_and_release_reservations(net, client):
    receive(net, SKU, "LON1", 5)
    sold, released = reserve(client, 2), reserve(client, 1)
    assert client.post(f"{API}/reservations/{sold['id']}/sell").json()["status"] == "sold"
    assert client.post(f"{API}/reservations/{released['id']}/release").json()["status"] == (
        "released"
    )
    level = client.get(f"{API}/stock/{SKU}/LON1").json()
    assert (level["on_hand"], level["reserved"], level["available"]) == (3, 0, 3)
    assert_problem(
        client.post(f"{API}/reservations/{sold['id']}/sell"), 409, "hold-not-active", "id"
    )


def test_expired_reservation_answers_409_and_never_blocks(net, client, clock):
    receive(net, SKU, "LON1", 1)
    hold = reserve(client)
    clock.advance(minutes=16)
    before = snapshot(net)
    body = assert_problem(
        client.post(f"{API}/reservations/{hold['id']}/sell"), 409, "reservation-expired", "id"
    )
    assert "expired at 2026-11-02 09:15:00 UTC" in body["detail"]
    assert snapshot(net) == before
    assert reserve(client)["status"] == "active"
    assert client.get(f"{API}/reservations/{hold['id']}").json()["status"] == "expired"


def test_out_of_stock_problem_names_quantity_and_numbers(net, client):
    receive(net, SKU, "LON1", 2)
    before = snapshot(net)
    r = client.post(
        f"{API}/reservations",
        json={"sku": SKU, "location": "LON1", "channel": "WEB", "quantity": 3},
    )
    body = assert_problem(r, 409, "out-of-stock", "quantity")
    assert (body["requested"], body["available"]) == (3, 2)
    assert body["detail"] == f"only 2 of {SKU} available at LON1; requested 3"
    assert snapshot(net) == before


def test_counts_and_policies(net, client):
    receive(net, SKU, "LON1", 10)
    r = client.put(
        f"{API}/policies/{SKU}/LON1", json={"safety_stock": 1, "reorder_point": 4, "order_up_to": 9}
    )
    assert (r.status_code, r.json()["available"], r.json()["reorder_point"]) == (200, 9, 4)
    start = outbox_position(net)
    r = client.post(f"{API}/counts", json={"sku": SKU, "location": "LON1", "counted_quantity": 3})
    assert (r.status_code, r.json()["on_hand"]) == (201, 3)
    assert event_types_after(net, start) == [
        "omniretail.inventory.count_corrected",
        "omniretail.inventory.replenishment_suggested",
        "omniretail.inventory.counted",
    ]
    assert ledger(net)[-1]["kind"] == "cycle_count"


def test_count_below_allocated_is_409(net, client):
    receive(net, SKU, "DC1", 5)
    r = client.post(
        f"{API}/allocations", json={"sku": SKU, "location": "DC1", "channel": "WEB", "quantity": 4}
    )
    assert r.status_code == 201
    before = snapshot(net)
    r = client.post(f"{API}/counts", json={"sku": SKU, "location": "DC1", "counted_quantity": 1})
    assert_problem(r, 409, "count-below-allocated", "counted_quantity")
    assert snapshot(net) == before


def test_transfer_lifecycle_and_illegal_transition(net, client):
    receive(net, SKU, "DC1", 10)
    r = client.post(
        f"{API}/transfers",
        json={
            "from_location": "DC1",
            "to_location": "LON2",
            "lines": [{"sku": SKU, "quantity": 4}],
        },
    )
    assert (r.status_code, r.json()["status"]) == (201, "requested")
    transfer_id = r.json()["id"]
    before = snapshot(net)
    body = assert_problem(
        client.post(f"{API}/transfers/{transfer_id}/receive"), 409, "illegal-transition", "status"
    )
    assert body["current_status"] == "requested"
    assert snapshot(net) == before
    assert client.post(f"{API}/transfers/{transfer_id}/ship").json()["status"] == "in_transit"
    level = client.get(f"{API}/stock/{SKU}/LON2").json()
    assert (level["in_transit"], level["on_hand"]) == (4, 0)
    assert client.post(f"{API}/transfers/{transfer_id}/receive").json()["status"] == "received"
    assert client.get(f"{API}/transfers/{transfer_id}").json()["received_at"] is not None
    assert client.get(f"{API}/stock/{SKU}/LON2").json()["on_hand"] == 4
    assert_problem(client.post(f"{API}/transfers/nope/ship"), 404, "unknown-transfer", "id")
    assert_verified(net)


def test_availability_one_sku_a_batch_and_nearby(net, client):
    receive(net, SKU, "LON1", 4)
    receive(net, SKU, "MAN1", 2)
    receive(net, "10002", "DC1", 7)
    r = client.get(f"{API}/availability", params={"sku": SKU, "channel": "POS"})
    assert r.json() == [
        {
            "sku": SKU,
            "channel": "POS",
            "available": 6,
            "locations": [
                {"location": "LON1", "available": 4, "on_hand": 4},
                {"location": "MAN1", "available": 2, "on_hand": 2},
            ],
        }
    ]
    r = client.post(f"{API}/availability/query", json={"skus": ["10002", SKU]})
    assert [(a["sku"], a["available"]) for a in r.json()] == [("10002", 7), (SKU, 6)]
    r = client.get(
        f"{API}/availability", params=[("sku", SKU), ("sku", "10002"), ("location", "DC1")]
    )
    assert [(a["sku"], a["available"]) for a in r.json()] == [(SKU, 0), ("10002", 7)]
    r = client.get(
        f"{API}/availability/nearby",
        params={"sku": SKU, "lat": 51.5308, "lon": -0.1238, "radius_km": 400},
    )
    assert [(s["location"], s["available"]) for s in r.json()] == [("LON1", 4), ("MAN1", 2)]
    assert_problem(
        client.get(f"{API}/availability", params={"sku": "NOPE"}), 404, "unknown-sku", "sku"
    )
    assert_problem(
        client.get(f"{API}/availability", params={"sku": SKU, "channel": "NOPE"}),
        404,
        "unknown-channel",
        "channel",
    )
    assert_problem(
        client.get(f"{API}/availability/nearby", params={"sku": SKU, "lat": 91, "lon": 0}),
        422,
        "validation-error",
        "lat",
    )


def test_verify_and_sweep_endpoints(net, client, clock):
    receive(net, SKU, "LON1", 3)
    reserve(client, 2)
    clock.advance(minutes=16)
    assert client.post(f"{API}/sweep").json() == {"released": 1}
    assert client.post(f"{API}/sweep").json() == {"released": 0}
    assert client.get(f"{API}/verify").json() == {"checked": 1, "drift": []}


def test_background_sweep_releases_expired_holds(net, clock):
    from omniretail.app import create_app

    receive(net, SKU, "LON1", 3)
    net.settings.sweep_interval_seconds = 0.05
    signed_in = {"X-API-Key": admin_api_key(net)}
    with TestClient(create_app(net, background_sweep=True), headers=signed_in) as client:
        hold = reserve(client, 2)
        clock.advance(minutes=16)
        import time

        deadline = time.monotonic() + 10
        while client.get(f"{API}/reservations/{hold['id']}").json()["status"] == "active":
            assert time.monotonic() < deadline, "the background sweep never ran"
            time.sleep(0.05)
    assert "omniretail.inventory.reservation_expired" in event_types_after(net)
    assert_verified(net)


def test_openapi_and_docs_are_served(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/inventory/reservations" in paths
    assert "/api/v1/inventory/availability" in paths
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def server_timing(response: Any) -> dict[str, str]:
    """{"app": "<ms>", "sql": "<statements>"} from the Server-Timing header."""
    metrics = {}
    for metric in response.headers["server-timing"].split(", "):
        name, _, param = metric.partition(";")
        metrics[name] = param.partition("=")[2].strip('"')
    return metrics


def test_a_staff_request_is_told_how_long_the_app_took_and_its_statements(client):
    timing = server_timing(client.get("/api/v1/inventory/availability?sku=NOPE&channel=WEB"))
    assert float(timing["app"]) >= 0
    assert int(timing["sql"]) >= 1


def test_the_reservation_hot_path_statement_budget(net, client):
    """The use case sends 4 statements (update stock, insert hold, ledger row, outbox; the
    same for a sale); over HTTP the auth layer adds the API key's look-up (so a disabled
    principal's keys stop at once) and its audit row. With ``api_key_cache_seconds`` the
    look-up is cached in the process and costs nothing. On PostgreSQL the audit row and
    the outbox go at commit as one statement (``db.batch``): 5 over HTTP; a reservation over
    HTTP takes the stock row in that statement too, with its hold, ledger row and event
    (``inventory.reserve_rows``): 2, the key's look-up and the batch. With PostgreSQL's
    principal cache (``auth.principal_cache``) the key's look-up is gone too: 1."""
    pg = net.backend == "postgresql"
    principals = net.principal_cache
    net.principal_cache = None  # first: the key read on every request
    use_case, http = (4, 5) if pg else (4, 6)
    reserve_http = 2 if pg else 6
    receive(net, SKU, "LON1", 5)
    reserve(client)  # the first one also reads the channel settings into the cache
    body = {"sku": SKU, "location": "LON1", "channel": "WEB", "quantity": 1}
    before = net.counter.value
    with net.uow() as uow:
        hold = service.reserve_stock(uow, SaleCreate(**body), actor="t")
    assert net.counter.value - before == use_case
    before = net.counter.value
    with net.uow() as uow:
        service.sell_reservation(uow, hold.id, actor="t")
    assert net.counter.value - before == use_case
    r = client.post(f"{API}/reservations", json=body)
    assert server_timing(r)["sql"] == str(reserve_http)
    r = client.post(f"{API}/reservations/{r.json()['id']}/sell")
    assert server_timing(r)["sql"] == str(http)
    net.settings.api_key_cache_seconds = 5.0
    reserve(client)  # caches the key
    r = client.post(f"{API}/reservations", json=body)
    assert server_timing(r)["sql"] == str(reserve_http - 1)
    if principals is not None:
        net.principal_cache, net.settings.api_key_cache_seconds = principals, 0.0
        receive(net, SKU, "LON1", 2)
        deadline = time.monotonic() + 5
        while not principals.serving and time.monotonic() < deadline:
            time.sleep(0.01)
        reserve(client)  # keeps the key's principal
        r = client.post(f"{API}/reservations", json=body)
        assert server_timing(r)["sql"] == str(reserve_http - 1)
