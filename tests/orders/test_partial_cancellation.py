"""Cancelling some units of a line through the HTTP API: the units' allocation is released, the
line keeps the rest (a new cancelled line holds the cancelled units), their value is voided
after commit, loyalty earns only on what remains; refusals write nothing."""

from __future__ import annotations

from decimal import Decimal

from tests.customers.helpers import make_customer
from tests.orders.network import (
    add,
    advance,
    assert_verified,
    checkout,
    event_data,
    ledger_kinds,
    make_orders_network,
    new_cart,
    ok,
    order_events,
    payment_instructions,
    receive,
    stock,
    tracking,
)


def _cancel(client, number, body):
    return client.post(f"/api/v1/orders/{number}/cancel", json=body)


def _lines(order):
    return [(ln["line_no"], ln["sku"], ln["quantity"], ln["status"]) for ln in order["lines"]]


def _pending_points(client, customer):
    return ok(client.get(f"/api/v1/loyalty/customers/{customer}"))["pending"]


def test_cancel_some_units_of_a_line(container, client, clock):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    receive(container, "B2", "DC1", 2)
    customer = make_customer(container, "Pat Part", email="pat@example.com", verified=True)
    token = new_cart(client, customer_id=customer)
    ok(add(client, token, "A1", 3))
    ok(add(client, token, "B2", 1))
    order = ok(checkout(client, token), 201)
    number, fid = order["number"], order["fulfilments"][0]["id"]
    assert order["total"] == "95.50"
    ok(client.post(f"/api/v1/fulfilments/{fid}/accept"))
    clock.advance(seconds=1)
    container.relay().run_until_idle()
    assert _pending_points(client, customer) == 95  # 3 x £20 + £35.50, earned before

    order = ok(_cancel(client, number, {"lines": [{"line_no": 1, "quantity": 1}]}))
    assert _lines(order) == [(1, "A1", 2, "open"), (2, "B2", 1, "open"), (3, "A1", 1, "cancelled")]
    assert order["status"] == "in_progress"
    assert order["fulfilments"][0]["status"] == "accepted"
    assert order["payment"]["voided"] == "20.00"
    assert stock(client, "A1", "DC1") == (5, 0, 2, 0)
    assert ledger_kinds(client, "A1", "DC1") == ["receipt", "reserve", "allocate", "deallocate"]
    [cancelled] = event_data(container, "cancelled")
    assert (cancelled["amount"], cancelled["lines"]) == (
        "20.00",
        [{"line_no": 3, "sku": "A1", "quantity": 1, "from_line_no": 1}],
    )
    assert payment_instructions(container) == [("void", "20.00")]
    auth = next(iter(container.payments.authorisations.values()))
    assert auth.voided == 0  # after commit, by the relay
    clock.advance(seconds=1)
    container.relay().run_until_idle()
    assert auth.voided == Decimal("20.00")
    assert _pending_points(client, customer) == 75  # the cancelled unit's 20 points back
    [f] = tracking(client, order)["fulfilments"]
    assert [(ln["sku"], ln["quantity"], ln["status"]) for ln in f["lines"]] == [
        ("A1", 2, "open"),
        ("B2", 1, "open"),
        ("A1", 1, "cancelled"),
    ]

    before = (order_events(container), stock(client, "A1", "DC1"))
    too_many = _cancel(client, number, {"lines": [{"line_no": 1, "quantity": 3}]})
    assert too_many.status_code == 409
    assert too_many.json()["type"].endswith("/not-cancellable")
    assert too_many.json()["detail"] == "line 1: 3 to cancel asked, only 2 open"
    assert too_many.json()["cancellable"] == 2
    again = _cancel(client, number, {"lines": [{"line_no": 3, "quantity": 1}]})
    assert (again.status_code, again.json()["detail"]) == (409, "line 3 is cancelled")
    twice = _cancel(
        client, number, {"lines": [{"line_no": 1, "quantity": 1}, {"line_no": 1, "quantity": 1}]}
    )
    assert twice.status_code == 409
    both = _cancel(client, number, {"line_nos": [1], "lines": [{"line_no": 1}]})
    assert both.status_code == 422
    zero = _cancel(client, number, {"lines": [{"line_no": 1, "quantity": 0}]})
    assert zero.status_code == 422
    assert (order_events(container), stock(client, "A1", "DC1")) == before
    assert ok(client.get(f"/api/v1/orders/{number}"))["payment"]["voided"] == "20.00"

    order = ok(_cancel(client, number, {"lines": [{"line_no": 2}]}))  # the whole B2 line
    assert _lines(order)[1] == (2, "B2", 1, "cancelled")
    assert order["payment"]["voided"] == "55.50"
    assert stock(client, "B2", "DC1") == (2, 0, 0, 0)

    order = advance(client, fid, "pick", "pack", "ship")
    assert order["payment"]["captured"] == "40.00"  # the 2 units that remain
    assert stock(client, "A1", "DC1") == (3, 0, 0, 0)
    shipped = _cancel(client, number, {"lines": [{"line_no": 1, "quantity": 1}]})
    assert shipped.status_code == 409
    assert shipped.json()["detail"] == "line 1 is fulfilled: shipped or handed over"
    assert order["lines"][0]["returnable"] == 2
    clock.advance(seconds=1)
    container.relay().run_until_idle()
    assert (auth.captured, auth.voided) == (Decimal("40.00"), Decimal("55.50"))
    assert _pending_points(client, customer) == 40
    assert_verified(client)


def test_a_cancellation_before_the_order_earned_is_left_out_of_the_earn(container, client, clock):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    customer = make_customer(container, "Eli Early", email="eli@example.com", verified=True)
    token = new_cart(client, customer_id=customer)
    ok(add(client, token, "A1", 3))
    order = ok(checkout(client, token), 201)
    ok(_cancel(client, order["number"], {"lines": [{"line_no": 1, "quantity": 2}]}))
    clock.advance(seconds=1)
    container.relay().run_until_idle()  # the earn sees one unit; the claw-back finds nothing
    assert _pending_points(client, customer) == 20
    assert stock(client, "A1", "DC1") == (5, 0, 1, 0)
    assert_verified(client)
