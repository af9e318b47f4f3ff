"""Pausing and resuming a promotion through the API (an event each time it changes, none when
it does not; unknown codes a problem), a coupon's redemptions, and the uses and revenue read
model over orders after a cancellation. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from omniretail.db.outbox import OutboxMessage
from omniretail.processes.promotion_uses import coupon_uses, promotion_uses
from tests.drain import drain
from tests.orders.network import checkout, make_orders_network, ok, receive
from tests.pricing.test_coupons import _cart_with, _coupon, _promotion


def _types(container):
    with container.read_uow() as uow:
        return [
            t.removeprefix("omniretail.pricing.")
            for t in uow.session.scalars(
                select(OutboxMessage.type)
                .where(OutboxMessage.type.like("omniretail.pricing.promotion%"))
                .order_by(OutboxMessage.position)
            )
        ]


def _quote(client):
    body = {"channel": "WEB", "lines": [{"sku": "A1", "quantity": 2}]}
    return Decimal(ok(client.post("/api/v1/pricing/quote", json=body))["gross"])


def test_pause_and_resume_through_the_api(container, client):
    make_orders_network(container)
    _promotion(client, "SPRING", requires_coupon=False)
    assert _quote(client) == Decimal("36.00")

    paused = ok(client.post("/api/v1/pricing/promotions/spring/pause"))
    assert paused["active"] is False
    assert _quote(client) == Decimal("40.00")
    ok(client.post("/api/v1/pricing/promotions/SPRING/pause"))  # already paused: no event
    resumed = ok(client.post("/api/v1/pricing/promotions/SPRING/resume"))
    assert resumed["active"] is True
    assert _quote(client) == Decimal("36.00")
    assert _types(container) == ["promotion_saved", "promotion_paused", "promotion_resumed"]

    missing = client.post("/api/v1/pricing/promotions/NOPE/pause")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["type"].endswith("unknown-promotion")


def test_redemptions_and_uses_after_a_cancelled_order(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    _promotion(client)
    _coupon(client, "SAVE10")
    kept = _cart_with(client, quantity=2)
    ok(client.post(f"/api/v1/carts/{kept}/coupons", json={"code": "SAVE10"}))
    first = ok(checkout(client, kept), 201)
    cancelled = _cart_with(client, quantity=1)
    ok(client.post(f"/api/v1/carts/{cancelled}/coupons", json={"code": "SAVE10"}))
    second = ok(checkout(client, cancelled), 201)
    ok(client.post(f"/api/v1/orders/{second['number']}/cancel", json={"reason": "changed mind"}))
    drain(container)

    redemptions = ok(client.get("/api/v1/pricing/coupons/save10/redemptions"))
    assert [
        (r["order_number"], Decimal(r["amount"]), r["returned_at"] is None) for r in redemptions
    ] == [
        (second["number"], Decimal("2.00"), False),
        (first["number"], Decimal("4.00"), True),
    ]
    assert client.get("/api/v1/pricing/coupons/NOPE123/redemptions").status_code == 404
    with container.read_uow() as uow:
        uses = promotion_uses(uow, "TENOFF")
        (total,) = coupon_uses(uow, "SAVE10")
    # Only the order kept counts: 2 x 20.00 less 10 %.
    assert (total.currency, total.orders, total.discount) == ("GBP", 1, Decimal("4.00"))
    assert total.revenue == Decimal(first["total"])
    assert [(t.orders, t.discount, t.revenue) for t in uses.totals] == [
        (1, Decimal("4.00"), Decimal(first["total"]))
    ]
    assert [o.number for o in uses.orders] == [first["number"]]
