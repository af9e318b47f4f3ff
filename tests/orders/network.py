"""A small retail network for order journeys, built through the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.catalog import service as catalog
from omniretail.catalog.models import ChannelKind, LocationKind
from omniretail.catalog.schemas import (
    Capabilities,
    ChannelWrite,
    LocationWrite,
    ProductCreate,
    SkuCreate,
)
from omniretail.db.outbox import list_events
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import StockChange

HOURS = {day: "09:00-20:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
HOME = {"lat": 51.545, "lon": -0.150}  # near Camden
PRICES = {"A1": Decimal("20.00"), "B2": Decimal("35.50"), "C3": Decimal("15.00")}


def make_orders_network(container: Container) -> None:
    locations = [
        (
            "DC1",
            "Midlands DC",
            LocationKind.WAREHOUSE,
            52.4862,
            -1.8904,
            Capabilities(ships_to_home=True, accepts_returns=True),
            0,
        ),
        (
            "LON1",
            "London Oxford St",
            LocationKind.STORE,
            51.5154,
            -0.1410,
            Capabilities(
                ships_to_home=True,
                pickup=True,
                ship_to_store_target=True,
                accepts_returns=True,
                curbside=True,  # kerbside bays in the car park behind the store
            ),
            2,
        ),
        (
            "LON2",
            "London Camden",
            LocationKind.STORE,
            51.5390,
            -0.1426,
            Capabilities(
                ships_to_home=True, pickup=True, ship_to_store_target=True, accepts_returns=True
            ),
            5,
        ),
        (
            "MAN1",
            "Manchester Arndale",
            LocationKind.STORE,
            53.4831,
            -2.2399,
            Capabilities(ships_to_home=True, pickup=True),
            5,
        ),
        (
            "LOCK1",
            "King's Cross locker",
            LocationKind.LOCKER,
            51.5308,
            -0.1238,
            Capabilities(pickup=True),
            0,
        ),
    ]
    with container.uow() as uow:
        for code, name, kind, lat, lon, caps, capacity in locations:
            catalog.save_location(
                uow,
                LocationWrite(
                    code=code,
                    name=name,
                    kind=kind,
                    latitude=lat,
                    longitude=lon,
                    address=f"{name}, UK",
                    opening_hours=HOURS if kind is LocationKind.STORE else {},
                    capabilities=caps,
                    daily_capacity=capacity,
                ),
            )
        catalog.save_channel(
            uow,
            ChannelWrite(
                code="WEB",
                name="Web shop",
                kind=ChannelKind.WEB,
                location_codes=["DC1", "LON1", "LON2", "MAN1"],
            ),
        )
        catalog.save_channel(
            uow,
            ChannelWrite(
                code="POS",
                name="Store tills",
                kind=ChannelKind.STORE_POS,
                location_codes=["LON1", "LON2", "MAN1"],
            ),
        )
        catalog.create_product(
            uow,
            ProductCreate(
                code="P1",
                name="Test product",
                skus=[SkuCreate(code=s, name=f"Item {s}", price=p) for s, p in PRICES.items()],
            ),
        )


def receive(container: Container, sku: str, location: str, quantity: int) -> None:
    with container.uow() as uow:
        inventory.receive_stock(
            uow, StockChange(sku=sku, location=location, quantity=quantity), actor="test"
        )


def make_customer(container: Container) -> int:
    from omniretail.customers import service as customers
    from omniretail.customers.schemas import CustomerCreate
    from omniretail.kernel.vault import vault_for

    with container.uow() as uow:
        created = customers.create_customer(
            uow, CustomerCreate(), vault=vault_for(container.keyring), actor="test"
        )
        return int(created.customer.id)


# --- HTTP helpers ------------------------------------------------------------------------------


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def new_cart(client: TestClient, channel: str = "WEB", customer_id: int | None = None) -> str:
    body: dict[str, Any] = {"channel": channel}
    if customer_id is not None:
        body["customer_id"] = customer_id
    return str(ok(client.post("/api/v1/carts", json=body), 201)["token"])


def add(client: TestClient, token: str, sku: str, quantity: int, **extra: Any) -> Any:
    return client.post(
        f"/api/v1/carts/{token}/lines", json={"sku": sku, "quantity": quantity, **extra}
    )


def checkout(
    client: TestClient,
    token: str,
    method: str = "ship_to_home",
    *,
    pickup: str | None = None,
    card: str = "tok_visa",
    key: str | None = None,
    home: bool = True,
) -> Any:
    fulfilment: dict[str, Any] = {"method": method}
    if pickup:
        fulfilment["pickup_location"] = pickup
    elif home:
        fulfilment.update(latitude=HOME["lat"], longitude=HOME["lon"])
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(
        f"/api/v1/carts/{token}/checkout",
        json={
            "fulfilment": fulfilment,
            "payment": {"provider_token": card},
            "contact_email": "ada@example.com",
        },
        headers=headers,
    )


def step(client: TestClient, fid: str, action: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/api/v1/fulfilments/{fid}/{action}", json=body or {})


def advance(client: TestClient, fid: str, *actions: str) -> Any:
    order = None
    for action in actions:
        order = ok(step(client, fid, action))
    return order


def stock(client: TestClient, sku: str, location: str) -> tuple[int, int, int, int]:
    s = ok(client.get(f"/api/v1/inventory/stock/{sku}/{location}"))
    return (s["on_hand"], s["reserved"], s["allocated"], s["in_transit"])


def assert_verified(client: TestClient) -> None:
    report = ok(client.get("/api/v1/inventory/verify"))
    assert report["drift"] == []


def ledger_kinds(client: TestClient, sku: str, location: str) -> list[str]:
    rows = ok(client.get("/api/v1/inventory/ledger", params={"sku": sku, "location": location}))
    return [r["kind"] for r in reversed(rows)]


def order_events(container: Container) -> list[str]:
    """The order's lifecycle events (payment instructions: ``payment_instructions``)."""
    with container.read_uow() as uow:
        names = [
            m.type.removeprefix("omniretail.orders.")
            for m in list_events(uow.session, limit=1000, type_prefix="omniretail.orders.")
        ]
    return [n for n in names if not (n.startswith("payment_") and n.endswith("_requested"))]


def payment_instructions(container: Container) -> list[tuple[str, str]]:
    """(action, amount) of every capture, void and refund recorded, in order."""
    with container.read_uow() as uow:
        return [
            (m.data["action"], m.data["amount"])
            for m in list_events(uow.session, limit=1000, type_prefix="omniretail.orders.payment_")
            if m.type.endswith("_requested")
        ]


def event_data(container: Container, name: str) -> list[dict[str, Any]]:
    with container.read_uow() as uow:
        return [
            m.data
            for m in list_events(uow.session, limit=1000, type_prefix=f"omniretail.orders.{name}")
            if m.type == f"omniretail.orders.{name}"
        ]


def tracking(client: TestClient, order: dict[str, Any]) -> Any:
    return ok(client.get(order["tracking_url"], headers={"Accept": "application/json"}))


def waiting_code(container: Container, order: dict[str, Any]) -> str:
    """The pickup code of the order's first fulfilment waiting to be collected, as its owner
    reads it in their account (the tracking page shows none)."""
    from omniretail.orders import service as orders

    with container.read_uow() as uow:
        codes = orders.pickup_codes(uow, order["number"])
    assert codes, f"no pickup code waits on {order['number']}"
    return next(iter(codes.values()))
