"""Coupons through the API: applied to a cart (priced with it, each line naming the
promotion), counted at checkout within their limits, given back when the order is cancelled.
Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import text

from tests.drain import drain
from tests.orders.network import (
    add,
    checkout,
    make_customer,
    make_orders_network,
    new_cart,
    ok,
    receive,
)


def _promotion(client, code="TENOFF", **body):
    payload = {
        "name": "Ten percent off",
        "effect": {"type": "percent_off", "percent": "10"},
        "requires_coupon": True,
        **body,
    }
    return ok(client.put(f"/api/v1/pricing/promotions/{code}", json=payload))


def _coupon(client, code="SAVE10", promotion="TENOFF", **limits):
    return ok(
        client.post(
            "/api/v1/pricing/coupons", json={"code": code, "promotion": promotion, **limits}
        ),
        201,
    )


def _cart_with(client, customer_id=None, quantity=1):
    token = new_cart(client, customer_id=customer_id)
    ok(add(client, token, "A1", quantity, location="DC1"))
    return token


def _uses(container, code):
    with container.engine.connect() as conn:
        return conn.execute(
            text("SELECT uses, spent FROM coupons WHERE code = :c"), {"c": code}
        ).one()


def test_a_coupon_prices_the_cart_shows_why_and_is_counted_at_checkout(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    _promotion(client)
    _coupon(client, max_uses=5)
    token = _cart_with(client)
    before = ok(client.get(f"/api/v1/carts/{token}"))
    cart = ok(client.post(f"/api/v1/carts/{token}/coupons", json={"code": "save10"}))
    assert cart["coupons"] == ["SAVE10"]
    line = cart["lines"][0]
    assert [(a["name"], a["source"]) for a in line["adjustments"]] == [
        ("Ten percent off", "coupon:SAVE10")
    ]
    expected = (Decimal(before["total"]) * Decimal("0.9")).quantize(Decimal("0.01"))
    assert Decimal(cart["total"]) == expected
    order = ok(checkout(client, token), 201)
    assert Decimal(order["total"]) == expected
    uses, spent = _uses(container, "SAVE10")
    assert uses == 1 and spent == Decimal(before["total"]) - expected


def test_without_the_coupon_a_coupon_only_promotion_does_not_apply(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    _promotion(client)
    _coupon(client)
    token = _cart_with(client)
    cart = ok(client.post(f"/api/v1/carts/{token}/coupons", json={"code": "SAVE10"}))
    removed = ok(client.delete(f"/api/v1/carts/{token}/coupons/SAVE10"))
    assert removed["coupons"] == [] and removed["lines"][0]["adjustments"] == []
    assert Decimal(removed["total"]) > Decimal(cart["total"])


def test_global_limit_window_and_unknown_codes(container, client, clock):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    _promotion(client)
    _coupon(client, "ONCE", max_uses=1)
    start = (clock.now() + timedelta(days=1)).isoformat()
    _coupon(client, "LATER", valid_from=start)
    first = _cart_with(client)
    ok(client.post(f"/api/v1/carts/{first}/coupons", json={"code": "ONCE"}))
    second = _cart_with(client)
    ok(client.post(f"/api/v1/carts/{second}/coupons", json={"code": "ONCE"}))
    ok(checkout(client, first), 201)
    # used up since it was applied: the second checkout is refused, nothing is written
    refused = checkout(client, second)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert _uses(container, "ONCE")[0] == 1
    third = _cart_with(client)
    assert client.post(f"/api/v1/carts/{third}/coupons", json={"code": "ONCE"}).status_code == 409
    assert client.post(f"/api/v1/carts/{third}/coupons", json={"code": "LATER"}).status_code == 409
    assert client.post(f"/api/v1/carts/{third}/coupons", json={"code": "NOPE1"}).status_code == 404
    clock.advance(days=2)
    ok(client.post(f"/api/v1/carts/{third}/coupons", json={"code": "LATER"}))


def test_per_customer_limit(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    _promotion(client)
    _coupon(client, "MINE", per_customer=1)
    customer = make_customer(container)
    anonymous = _cart_with(client)
    assert (
        client.post(f"/api/v1/carts/{anonymous}/coupons", json={"code": "MINE"}).status_code == 409
    )
    token = _cart_with(client, customer_id=customer)
    ok(client.post(f"/api/v1/carts/{token}/coupons", json={"code": "MINE"}))
    ok(checkout(client, token), 201)
    again = _cart_with(client, customer_id=customer)
    assert client.post(f"/api/v1/carts/{again}/coupons", json={"code": "MINE"}).status_code == 409
    other = _cart_with(client, customer_id=make_customer(container))
    ok(client.post(f"/api/v1/carts/{other}/coupons", json={"code": "MINE"}))


def test_budget_is_never_exceeded(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    _promotion(
        client,
        "FIVER",
        effect={"type": "order_amount_off", "amount": "5"},
        currency="GBP",
        name="Five pounds off",
    )
    _coupon(client, "BUDGET", promotion="FIVER", budget="12")
    for _ in range(2):
        token = _cart_with(client)
        cart = ok(client.post(f"/api/v1/carts/{token}/coupons", json={"code": "BUDGET"}))
        assert cart["lines"][0]["adjustments"][0]["amount"] == "-5.00"
        ok(checkout(client, token), 201)
    assert _uses(container, "BUDGET") == (2, Decimal("10"))
    token = _cart_with(client)
    cart = ok(client.post(f"/api/v1/carts/{token}/coupons", json={"code": "BUDGET"}))
    assert cart["lines"][0]["adjustments"] == []  # 2.00 left covers no 5.00 discount
    ok(checkout(client, token), 201)
    assert _uses(container, "BUDGET") == (2, Decimal("10"))


def test_a_cancelled_order_gives_the_use_back(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    _promotion(client)
    _coupon(client, "ONCE", max_uses=1)
    token = _cart_with(client)
    ok(client.post(f"/api/v1/carts/{token}/coupons", json={"code": "ONCE"}))
    order = ok(checkout(client, token), 201)
    assert _uses(container, "ONCE")[0] == 1
    ok(client.post(f"/api/v1/orders/{order['number']}/cancel", json={"reason": "changed mind"}))
    drain(container)
    assert _uses(container, "ONCE") == (0, Decimal(0))
    drain(container)  # again: nothing more given back
    assert _uses(container, "ONCE")[0] == 0
    again = _cart_with(client)
    ok(client.post(f"/api/v1/carts/{again}/coupons", json={"code": "ONCE"}))
    ok(checkout(client, again), 201)


def test_bulk_codes_are_unique_and_export_as_csv(container, client):
    _promotion(client)
    made = ok(
        client.post(
            "/api/v1/pricing/coupons/batches",
            json={"promotion": "TENOFF", "batch": "XMAS", "count": 25, "prefix": "XM"},
        ),
        201,
    )
    assert made["count"] == 25
    codes = {c["code"] for c in made["coupons"]}
    assert len(codes) == 25 and all(c.startswith("XM") and len(c) == 12 for c in codes)
    response = client.get("/api/v1/pricing/coupons/batches/XMAS.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["code"] for r in rows} == codes and {r["max_uses"] for r in rows} == {"1"}


def test_bad_promotions_are_problems(container, client):
    bad_cel = client.put(
        "/api/v1/pricing/promotions/BAD",
        json={
            "name": "Bad",
            "condition": "total >=",
            "effect": {"type": "percent_off", "percent": "5"},
        },
    )
    assert bad_cel.status_code == 400 or bad_cel.status_code == 422
    assert bad_cel.headers["content-type"].startswith("application/problem+json")
    no_currency = client.put(
        "/api/v1/pricing/promotions/BAD",
        json={"name": "Bad", "effect": {"type": "order_amount_off", "amount": "5"}},
    )
    assert no_currency.status_code == 422
    assert client.get("/api/v1/pricing/promotions/BAD").status_code == 404
