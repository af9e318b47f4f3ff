"""Refunds follow what was paid: a returned unit refunds its share of the line's paid amount
(promotions and order discounts included), a return that breaks a buy-X-get-Y keeps back
the value the kept items no longer get free, each refund carries its tax per line, and an
order returned in full gives its coupon use back. Through the API, on SQLite and PostgreSQL.

The network's web channel sells in GBP with UK VAT (20 %) included in its prices: A1 costs
20.00, C3 15.00."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.drain import drain
from tests.orders.network import (
    add,
    advance,
    checkout,
    make_orders_network,
    new_cart,
    ok,
    receive,
)

BUY_2_GET_1 = {"name": "Buy 2 get 1 free", "effect": {"type": "buy_x_get_y", "buy": 2, "get": 1}}
TEN_PERCENT = {"name": "Ten percent off", "effect": {"type": "percent_off", "percent": "10"}}
SEVEN_OFF = {
    "name": "Seven off the order",
    "effect": {"type": "order_amount_off", "amount": "7"},
    "currency": "GBP",
}
TEN_OFF = {
    "name": "Ten off the order",
    "effect": {"type": "order_amount_off", "amount": "10"},
    "currency": "GBP",
}


def _promotion(client, code, body, **extra):
    ok(client.put(f"/api/v1/pricing/promotions/{code}", json={**body, **extra}))


def _delivered(container, client, items, promotions=(), coupon=None):
    """A web order of ``items`` ({sku: quantity}) sold with ``promotions``, delivered."""
    make_orders_network(container)
    for code, body in promotions:
        _promotion(client, code, body)
    token = new_cart(client)
    for sku, quantity in items.items():
        receive(container, sku, "DC1", quantity)
        ok(add(client, token, sku, quantity))
    if coupon is not None:
        ok(client.post(f"/api/v1/carts/{token}/coupons", json={"code": coupon}))
    order = ok(checkout(client, token), 201)
    for f in order["fulfilments"]:
        advance(client, f["id"], "accept", "pick", "pack", "ship", "deliver")
    return order


def _line_no(order, sku):
    return next(ln["line_no"] for ln in order["lines"] if ln["sku"] == sku)


def _return(client, order, returns):
    lines = [{"line_no": _line_no(order, sku), "quantity": q} for sku, q in returns]
    return ok(
        client.post(
            f"/api/v1/orders/{order['number']}/returns", json={"location": "LON2", "lines": lines}
        )
    )


def _refunds(client, order):
    return ok(client.get(f"/api/v1/orders/{order['number']}/refunds"))


# (case, items, promotions, returns one after the other, refund of each, kept-back notes)
CASES = [
    (
        "percent off: each unit refunds its discounted price",
        {"A1": 3},
        [("TEN", TEN_PERCENT)],
        [[("A1", 1)], [("A1", 2)]],
        ["18.00", "36.00"],
        [[], []],
    ),
    (
        "an order amount off over one line: the last unit takes the remainder",
        {"A1": 3},
        [("TENOFF", TEN_OFF)],
        [[("A1", 1)], [("A1", 1)], [("A1", 1)]],
        ["16.66", "16.67", "16.67"],
        [[], [], []],
    ),
    (
        "an order amount off spread over lines in proportion",
        {"A1": 1, "C3": 1},
        [("SEVEN", SEVEN_OFF)],
        [[("C3", 1)], [("A1", 1)]],
        ["12.00", "16.00"],
        [[], []],
    ),
    (
        "buy 3 pay 2, one of the paid returned: the free item's value is kept back",
        {"A1": 2, "C3": 1},
        [("B2G1", BUY_2_GET_1)],
        [[("A1", 1)]],
        ["5.00"],
        [["Buy 2 get 1 free no longer applies: £15.00 kept back"]],
    ),
    (
        "buy 3 pay 2, the free item returned: nothing to refund",
        {"A1": 2, "C3": 1},
        [("B2G1", BUY_2_GET_1)],
        [[("C3", 1)]],
        ["0.00"],
        [[]],
    ),
    (
        "buy 3 pay 2, both paid returned: the kept one costs its price",
        {"A1": 2, "C3": 1},
        [("B2G1", BUY_2_GET_1)],
        [[("A1", 2)], [("C3", 1)]],
        ["25.00", "15.00"],
        [["Buy 2 get 1 free no longer applies: £15.00 kept back"], []],
    ),
    (
        "buy 3 pay 2 on one line: one back refunds nothing, the rest gives it back",
        {"A1": 3},
        [("B2G1", BUY_2_GET_1)],
        [[("A1", 1)], [("A1", 1)], [("A1", 1)]],
        ["0.00", "20.00", "20.00"],
        [["Buy 2 get 1 free no longer applies: £13.33 kept back"], [], []],
    ),
]


@pytest.mark.parametrize(
    ("items", "promotions", "returns", "refunded", "notes"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_refund_amounts(container, client, items, promotions, returns, refunded, notes):
    order = _delivered(container, client, items, promotions)
    paid = Decimal(order["total"])
    for lines in returns:
        _return(client, order, lines)
    refunds = _refunds(client, order)
    assert [r["amount"] for r in refunds] == refunded
    assert [[k["note"] for k in r["kept_back"]] for r in refunds] == notes
    assert sum(Decimal(r["amount"]) for r in refunds) <= paid
    final = ok(client.get(f"/api/v1/orders/{order['number']}"))
    assert final["payment"]["refunded"] == str(sum(Decimal(a) for a in refunded))


def test_a_refund_carries_net_tax_and_rate_per_line(container, client):
    order = _delivered(container, client, {"A1": 3}, [("TENOFF", TEN_OFF)])
    assert order["total"] == "50.00"
    _return(client, order, [("A1", 1)])
    [refund] = _refunds(client, order)
    assert (refund["amount"], refund["net"], refund["tax"], refund["currency"]) == (
        "16.66",
        "13.89",
        "2.77",
        "GBP",
    )
    [line] = refund["lines"]
    assert (line["quantity"], line["paid"], line["amount"], line["net"], line["tax"]) == (
        1,
        "16.66",
        "16.66",
        "13.89",
        "2.77",
    )
    assert Decimal(line["tax_rate"]) == Decimal("0.2")
    assert refund["kind"] == "return" and refund["location"] == "LON2"


def test_a_kept_back_refund_has_the_tax_of_what_it_refunds(container, client):
    order = _delivered(container, client, {"A1": 2, "C3": 1}, [("B2G1", BUY_2_GET_1)])
    _return(client, order, [("A1", 1)])
    [refund] = _refunds(client, order)
    [line] = refund["lines"]
    # 20.00 paid, 5.00 refunded: VAT 20 % included in 5.00 is 0.83
    assert (line["paid"], line["amount"], line["net"], line["tax"]) == (
        "20.00",
        "5.00",
        "4.17",
        "0.83",
    )
    assert [(k["name"], k["amount"]) for k in refund["kept_back"]] == [
        ("Buy 2 get 1 free", "15.00")
    ]


def _uses(container, code):
    with container.engine.connect() as conn:
        return conn.execute(text("SELECT uses FROM coupons WHERE code = :c"), {"c": code}).scalar()


def test_a_full_return_gives_the_coupon_use_back(container, client):
    make_orders_network(container)
    _promotion(client, "TEN", TEN_PERCENT, requires_coupon=True)
    ok(
        client.post(
            "/api/v1/pricing/coupons", json={"code": "ONCE", "promotion": "TEN", "max_uses": 1}
        ),
        201,
    )
    token = new_cart(client)
    receive(container, "A1", "DC1", 2)
    ok(add(client, token, "A1", 2))
    ok(client.post(f"/api/v1/carts/{token}/coupons", json={"code": "ONCE"}))
    order = ok(checkout(client, token), 201)
    for f in order["fulfilments"]:
        advance(client, f["id"], "accept", "pick", "pack", "ship", "deliver")
    assert (order["total"], _uses(container, "ONCE")) == ("36.00", 1)

    _return(client, order, [("A1", 1)])
    drain(container)
    assert _uses(container, "ONCE") == 1  # a partial return keeps the use
    _return(client, order, [("A1", 1)])
    drain(container)
    assert _uses(container, "ONCE") == 0
    assert [r["amount"] for r in _refunds(client, order)] == ["18.00", "18.00"]
    drain(container)  # again: given back once
    assert _uses(container, "ONCE") == 0


def test_capture_void_and_refund_follow_the_paid_amounts_of_a_discounted_order(container, client):
    """Three mugs with ten off the order (50.00 paid): one cancelled before shipment voids
    16.67 (its share), shipping captures the other two's 33.33, returning one refunds 16.66."""
    make_orders_network(container)
    _promotion(client, "TENOFF", TEN_OFF)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 3))
    order = ok(checkout(client, token), 201)
    assert order["total"] == "50.00"
    number, fid = order["number"], order["fulfilments"][0]["id"]
    ok(client.post(f"/api/v1/fulfilments/{fid}/accept"))
    cancelled = ok(
        client.post(
            f"/api/v1/orders/{number}/cancel", json={"lines": [{"line_no": 1, "quantity": 1}]}
        )
    )
    assert cancelled["payment"]["voided"] == "16.67"
    assert [(ln["quantity"], ln["net"], ln["tax"]) for ln in cancelled["lines"]] == [
        (2, "27.78", "5.55"),
        (1, "13.89", "2.78"),
    ]
    shipped = advance(client, fid, "pick", "pack", "ship", "deliver")
    assert shipped["payment"]["captured"] == "33.33"
    _return(client, order, [("A1", 1)])
    _return(client, order, [("A1", 1)])
    refunds = _refunds(client, order)
    assert [r["amount"] for r in refunds] == ["16.66", "16.67"]
    final = ok(client.get(f"/api/v1/orders/{number}"))
    assert final["payment"]["refunded"] == "33.33"


def test_the_refund_email_shows_each_item_s_refund_tax_and_what_was_kept_back(
    container, client, notices
):
    order = _delivered(container, client, {"A1": 2, "C3": 1}, [("B2G1", BUY_2_GET_1)])
    _return(client, order, [("A1", 1)])
    notices.deliver()
    refund = notices.emails()[-1]
    assert refund.subject == f"Refund of £5.00 for order {order['number']}"
    assert "- 1 x Item A1  £5.00 (incl. £0.83 VAT standard at 20%)" in refund.text
    assert "Buy 2 get 1 free no longer applies: £15.00 kept back" in refund.text
    assert "Tax refunded: £0.83" in refund.text
    assert "Buy 2 get 1 free no longer applies: £15.00 kept back" in refund.html


def test_an_exchange_credits_the_returned_item_as_a_return_would(container, client):
    """Of three items with one free (40.00 paid), one paid mug exchanged for a 35.50 tote:
    the mug credits 5.00 (the free candle's 15.00 kept back), so 30.50 is charged."""
    order = _delivered(container, client, {"A1": 2, "C3": 1}, [("B2G1", BUY_2_GET_1)])
    receive(container, "B2", "LON2", 1)
    body = {
        "location": "LON2",
        "returns": [{"line_no": _line_no(order, "A1"), "quantity": 1}],
        "new_lines": [{"sku": "B2", "quantity": 1}],
    }
    ok(client.post(f"/api/v1/orders/{order['number']}/exchanges", json=body))
    log = ok(client.get(f"/api/v1/orders/{order['number']}/log"))
    assert [e["detail"]["amount"] for e in log if e["action"] == "returned"] == ["5.00"]
    assert [e["detail"]["amount"] for e in log if e["action"] == "charge"] == ["30.50"]
    assert _refunds(client, order) == []
