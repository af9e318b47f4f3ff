"""Retail trigger sources: back-in-stock alerts (the customer's API, the staff's list, one
event per alert when the SKU is available at the store again), price drops (for carts and
recent views, once per customer x SKU x price) and the browse-abandonment sweep (once per
customer x SKU x day; not after a cart line or an order of the SKU)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from omniretail.commands.main import app as cli
from omniretail.db.outbox import list_events
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import AdjustmentCreate
from omniretail.marketing import service as marketing
from tests.customers.helpers import grant, make_customer
from tests.orders.network import add, make_orders_network, new_cart, ok, receive

PASSWORD = "correct horse battery staple"


def relay(container: Container, clock: Any) -> None:
    clock.advance(seconds=1)
    container.relay().run_until_idle()


def fired(container: Container, event_type: str) -> list[dict[str, Any]]:
    with container.read_uow() as uow:
        return [
            m.data
            for m in list_events(uow.session, limit=1000, type_prefix=f"omniretail.{event_type}")
            if m.type == f"omniretail.{event_type}"
        ]


def bearer(client: TestClient, username: str) -> dict[str, str]:
    r = client.post(
        "/api/v1/auth/token",
        data={"username": username, "password": PASSWORD},
        headers={"X-API-Key": ""},
    )
    return {"Authorization": f"Bearer {r.json()['access_token']}", "X-API-Key": ""}


def shopper(container: Container, client: TestClient, name: str, email: str) -> tuple[int, Any]:
    customer = make_customer(container, name, email=email, verified=True, home_store="LON1")
    with container.uow() as uow:
        auth.create_principal(
            uow,
            PrincipalCreate(
                username=email, role=Role.CUSTOMER, customer_id=customer, password=PASSWORD
            ),
        )
    return customer, bearer(client, email)


def test_back_in_stock_once_per_alert_when_available_at_that_store(
    container: Container, client: TestClient, clock: Any
) -> None:
    make_orders_network(container)
    ada, as_ada = shopper(container, client, "Ada Lovelace", "ada@example.com")
    bob, as_bob = shopper(container, client, "Bob Byte", "bob@example.com")
    mine = f"/api/v1/customers/{ada}/stock-alerts"
    alert = ok(client.post(mine, json={"sku": "A1"}, headers=as_ada), 201)
    assert (alert["store"], alert["status"]) == ("LON1", "waiting")
    again = ok(client.post(mine, json={"sku": "A1"}, headers=as_ada), 201)
    assert again["id"] == alert["id"]  # asking twice: the same alert
    ok(client.post(mine, json={"sku": "B2", "store": "MAN1"}, headers=as_ada), 201)
    bobs = ok(
        client.post(f"/api/v1/customers/{bob}/stock-alerts", json={"sku": "A1"}, headers=as_bob),
        201,
    )
    assert client.post(mine, json={"sku": "A1"}, headers=as_bob).status_code == 403
    assert client.get(mine, headers=as_bob).status_code == 403
    unknown = client.post(mine, json={"sku": "NOPE"}, headers=as_ada)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert [a["sku"] for a in ok(client.get(mine, headers=as_ada))] == ["B2", "A1"]
    assert (
        client.delete(f"/api/v1/customers/{bob}/stock-alerts/{bobs['id']}", headers=as_bob)
    ).status_code == 204
    # staff list, by SKU and status
    listed = ok(client.get("/api/v1/marketing/stock-alerts", params={"sku": "A1"}))
    assert {(a["customer_id"], a["status"]) for a in listed} == {
        (ada, "waiting"),
        (bob, "cancelled"),
    }
    assert client.get("/api/v1/marketing/stock-alerts", headers=as_ada).status_code == 403

    receive(container, "A1", "DC1", 5)  # not at the store
    receive(container, "B2", "LON1", 5)  # not the SKU asked for there
    relay(container, clock)
    assert fired(container, "marketing.back_in_stock") == []

    receive(container, "A1", "LON1", 3)
    relay(container, clock)
    receive(container, "A1", "LON1", 3)
    relay(container, clock)
    events = fired(container, "marketing.back_in_stock")
    assert events == [{"customer_id": ada, "sku": "A1", "store": "LON1"}]
    statuses = {a["sku"]: a["status"] for a in ok(client.get(mine, headers=as_ada))}
    assert statuses == {"A1": "notified", "B2": "waiting"}

    # a positive adjustment at MAN1 brings B2 back there
    with container.uow() as uow:
        inventory.adjust_stock(
            uow,
            AdjustmentCreate(sku="B2", location="MAN1", quantity_delta=2, reason="found"),
            actor="t",
        )
    relay(container, clock)
    assert {e["sku"] for e in fired(container, "marketing.back_in_stock")} == {"A1", "B2"}


def set_price(client: TestClient, sku: str, price: str) -> None:
    ok(client.put(f"/api/v1/prices/{sku}/WEB", json={"price": price}))


def view(client: TestClient, customer: int, sku: str, at: str) -> None:
    event = {
        "type": "product_view",
        "occurred_at": at,
        "customer_id": customer,
        "data": {"sku": sku},
    }
    assert client.post("/api/v1/events", json={"events": [event]}).status_code in (200, 202)


def test_price_drop_for_carts_and_recent_views_once_per_price(
    container: Container, client: TestClient, clock: Any
) -> None:
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    carter = make_customer(container, "Cara Cart", email="cara@example.com", verified=True)
    viewer = make_customer(container, "Vic View", email="vic@example.com", verified=True)
    stale = make_customer(container, "Old Otto", email="otto@example.com", verified=True)
    other = make_customer(container, "Nina None", email="nina@example.com", verified=True)
    for c in (viewer, stale):
        grant(container, c, "analytics", "all")
    ok(add(client, new_cart(client, customer_id=carter), "A1", 1))
    view(client, viewer, "A1", "2026-11-01T10:00:00Z")
    view(client, stale, "A1", "2026-09-20T10:00:00Z")  # more than 30 days ago
    view(client, viewer, "B2", "2026-11-01T10:00:00Z")
    relay(container, clock)

    set_price(client, "A1", "25.00")  # catalog price 20.00: a rise
    relay(container, clock)
    assert fired(container, "marketing.price_dropped") == []

    set_price(client, "A1", "18.00")
    relay(container, clock)
    set_price(client, "A1", "18.00")  # the same price again: nothing new
    relay(container, clock)
    drops = fired(container, "marketing.price_dropped")
    assert sorted((d["customer_id"], d["old_price"], d["new_price"]) for d in drops) == [
        (carter, "25.00", "18.00"),
        (viewer, "25.00", "18.00"),
    ]
    assert {d["currency"] for d in drops} == {"GBP"} and other not in {
        d["customer_id"] for d in drops
    }

    set_price(client, "A1", "15.00")
    relay(container, clock)
    assert len(fired(container, "marketing.price_dropped")) == 4
    assert client.delete("/api/v1/prices/A1/WEB").status_code == 204  # back to 20.00: a rise
    relay(container, clock)
    assert len(fired(container, "marketing.price_dropped")) == 4


def test_browse_sweep_once_per_customer_sku_and_day(
    container: Container, client: TestClient, clock: Any
) -> None:
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    receive(container, "B2", "DC1", 10)
    browser = make_customer(container, "Bea Browse", email="bea@example.com", verified=True)
    buyer = make_customer(container, "Cy Cart", email="cy@example.com", verified=True)
    for c in (browser, buyer):
        grant(container, c, "analytics", "all")
    now = clock.now()
    at = (now - timedelta(hours=3)).isoformat().replace("+00:00", "Z")
    view(client, browser, "A1", at)
    view(client, buyer, "B2", at)
    ok(add(client, new_cart(client, customer_id=buyer), "B2", 1))  # carted after the view
    recent = (now - timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    view(client, browser, "B2", recent)  # too recent to call abandoned yet

    found = []
    for advance in (0, 0, 1, 1):  # hours
        clock.advance(hours=advance)
        with container.uow() as uow:
            found.append(marketing.browse_sweep(uow, batch=1))  # a customer per batch
    # A1 now, nothing twice, B2 once its view is an hour old; never the carted B2 of the buyer
    assert found == [1, 0, 1, 0]
    events = fired(container, "marketing.browse_abandoned")
    assert [(e["customer_id"], e["sku"]) for e in events] == [(browser, "A1"), (browser, "B2")]
    assert events[0]["viewed_at"].startswith(at[:16].replace("Z", ""))


def test_cli_browse_sweep(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OMNIRETAIL_DATA_DIR", str(tmp_path))
    db = ["--db", f"sqlite:///{tmp_path / 'browse.db'}"]
    result = CliRunner().invoke(cli, ["marketing", "browse-sweep", *db])
    assert result.exit_code == 0, result.output
    assert "browse_abandoned: 0" in result.output
