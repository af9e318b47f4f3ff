"""A reservation over HTTP (on PostgreSQL one statement with its commit,
``inventory.reserve_rows``) writes exactly what the ordinary reservation writes, and refuses
exactly as it does, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from omniretail.auth.models import AuditEntry
from omniretail.bootstrap import Container
from omniretail.db.outbox import OutboxMessage
from omniretail.inventory import service
from omniretail.inventory.models import StockHold
from omniretail.inventory.schemas import PolicyWrite, SaleCreate
from tests.factories import make_network, receive
from tests.inventory import state
from tests.inventory.state import assert_verified, counters, ledger, snapshot

API = "/api/v1/inventory"
SKU = "10001"
BODY = {"sku": SKU, "location": "LON1", "channel": "WEB", "quantity": 3}


@pytest.fixture
def net(container: Container) -> Container:
    make_network(container)
    return container


def set_policy(net: Container, **policy: Any) -> None:
    with net.uow() as uow:
        service.set_policy(uow, SKU, "LON1", PolicyWrite(**policy), actor="test")


def audit_rows(net: Container) -> int:
    with net.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def events_after(net: Container, start: int = 0) -> list[tuple[str, dict[str, Any]]]:
    return [(t.removeprefix("omniretail."), d) for t, d in state.events_after(net, start)]


def outbox_rows(net: Container) -> list[tuple[str, str, str]]:
    with net.engine.connect() as conn:
        rows = conn.execute(
            select(OutboxMessage.type, OutboxMessage.source, OutboxMessage.subject).order_by(
                OutboxMessage.position
            )
        ).all()
    return [tuple(r) for r in rows]


def test_a_reservation_over_http_writes_the_service_s_rows(net, client, clock):
    receive(net, SKU, "LON1", 10)
    set_policy(net, safety_stock=2)
    with net.uow() as uow:
        by_service = service.reserve_stock(uow, SaleCreate(**BODY), actor="test")
    start = len(events_after(net))
    audits = audit_rows(net)
    r = client.post(f"{API}/reservations", json=BODY)
    assert r.status_code == 201, r.text
    hold = r.json()
    expires = "2026-11-02T09:15:00+00:00"
    assert {k: v for k, v in hold.items() if k != "id"} == {
        **{k: v for k, v in by_service.model_dump(mode="json").items() if k != "id"},
    }
    assert hold["expires_at"].replace("Z", "+00:00") == expires
    assert events_after(net)[start:] == [
        (
            "inventory.reserved",
            {
                "sku": SKU,
                "location": "LON1",
                "hold_id": hold["id"],
                "quantity": 3,
                "channel": "WEB",
                "expires_at": expires,
                "available": 2,  # 10 on hand - 6 reserved - 2 safety stock
            },
        )
    ]
    # The event's row as the unit of work records it (type, source, subject).
    first, second = outbox_rows(net)[-2:]
    assert second == first
    assert ledger(net, SKU)[-2:] == [
        {
            "sku": SKU,
            "location": "LON1",
            "kind": "reserve",
            "on_hand": 0,
            "reserved": 3,
            "allocated": 0,
            "in_transit": 0,
            "reason": None,
            "reference": by_service.id,
        },
        {
            "sku": SKU,
            "location": "LON1",
            "kind": "reserve",
            "on_hand": 0,
            "reserved": 3,
            "allocated": 0,
            "in_transit": 0,
            "reason": None,
            "reference": hold["id"],
        },
    ]
    with net.engine.connect() as conn:
        row = conn.execute(select(StockHold).where(StockHold.id == hold["id"])).one()
    assert (row.kind, row.status, row.quantity, row.channel_code) == ("cart", "active", 3, "WEB")
    assert audit_rows(net) == audits + 1
    assert counters(net, SKU, "LON1") == {
        "on_hand": 10,
        "reserved": 6,
        "allocated": 0,
        "in_transit": 0,
    }
    assert_verified(net)


def test_a_reservation_beyond_the_free_units_over_http_writes_nothing(net, client):
    receive(net, SKU, "LON1", 5)
    set_policy(net, safety_stock=3)
    before, audits = snapshot(net), audit_rows(net)
    r = client.post(f"{API}/reservations", json=BODY)
    assert r.status_code == 409
    assert (r.json()["requested"], r.json()["available"]) == (3, 2)
    assert snapshot(net) == before
    assert audit_rows(net) == audits


def test_a_reservation_over_http_of_a_sku_never_stocked_here_is_refused(net, client):
    before = snapshot(net)
    r = client.post(f"{API}/reservations", json=BODY)
    assert r.status_code == 409
    assert r.json()["detail"] == f"no stock of {SKU} at LON1: requested 3, available 0"
    assert snapshot(net) == before


def test_a_reservation_over_http_crossing_the_reorder_point_suggests_replenishment(net, client):
    receive(net, SKU, "LON1", 12)
    set_policy(net, reorder_point=6, order_up_to=20)
    start = len(events_after(net))
    for _ in range(3):  # position 12 -> 9 -> 6 (crossed) -> 3 (already below)
        assert client.post(f"{API}/reservations", json=BODY).status_code == 201
    events = events_after(net)[start:]
    assert [(t, d.get("available")) for t, d in events] == [
        ("inventory.reserved", 9),
        ("inventory.replenishment_suggested", None),
        ("inventory.reserved", 6),
        ("inventory.reserved", 3),
    ]
    assert events[1][1] == {
        "sku": SKU,
        "location": "LON1",
        "position": 6,
        "reorder_point": 6,
        "order_up_to": 20,
        "suggested_quantity": 14,
    }
    assert_verified(net)


def test_expired_holds_make_room_for_a_reservation_over_http(net, client, clock):
    receive(net, SKU, "LON1", 3)
    assert client.post(f"{API}/reservations", json=BODY).status_code == 201
    clock.advance(minutes=16)
    start = len(events_after(net))
    r = client.post(f"{API}/reservations", json=BODY)
    assert r.status_code == 201, r.text
    assert [t for t, _ in events_after(net)[start:]] == [
        "inventory.reservation_expired",
        "inventory.reserved",
    ]
    assert counters(net, SKU, "LON1")["reserved"] == 3
    assert_verified(net)


def test_a_reservation_over_http_bounds_its_headers_and_replays_an_idempotency_key(net, client):
    """The route reads the use case's headers itself: the same 422s as every write route,
    and a retried Idempotency-Key gets the first answer without reserving again."""
    receive(net, SKU, "LON1", 10)
    for headers, field in (
        ({"x-omniretail-actor": "a" * 121}, "x-omniretail-actor"),
        ({"Idempotency-Key": ""}, "Idempotency-Key"),
        ({"Idempotency-Key": "k" * 201}, "Idempotency-Key"),
    ):
        for route in ("reservations", "allocations"):
            r = client.post(f"{API}/{route}", json=BODY, headers=headers)
            assert (r.status_code, r.json()["field"]) == (422, field), r.text
    first = client.post(f"{API}/reservations", json=BODY, headers={"Idempotency-Key": "k1"})
    again = client.post(f"{API}/reservations", json=BODY, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert counters(net, SKU, "LON1")["reserved"] == 3
    assert audit_rows(net) >= 1
    assert_verified(net)
