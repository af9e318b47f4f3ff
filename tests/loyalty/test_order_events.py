"""Orders feed the customer's timeline and the points ledger through the outbox relay:
a checkout earns pending points and lands on the timeline, a cancellation and a refund give
back exactly what their lines earned, and a redelivered event changes nothing.

One test returns an item through the real return flow (``POST /orders/{number}/returns``);
the others record the ``omniretail.orders.refunded`` event directly, in the shape
``orders.returns`` records it."""

from __future__ import annotations

from omniretail.customers.service import activity
from omniretail.db.outbox import list_events
from omniretail.loyalty import service
from omniretail.orders.events import OrderRefunded
from tests.customers.helpers import make_customer
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive


def ledger(client, customer):
    rows = ok(client.get(f"/api/v1/loyalty/customers/{customer}/ledger"))
    return [(e["kind"], e["points"], e["pending_delta"], e["reference"]) for e in reversed(rows)]


def account(client, customer):
    a = ok(client.get(f"/api/v1/loyalty/customers/{customer}"))
    return a["available"], a["pending"]


def timeline(client, customer):
    rows = ok(client.get(f"/api/v1/customers/{customer}/timeline"))
    return [(a["kind"], a["reference"], a["amount"], a["status"], a["channel"]) for a in rows]


def relay(container, clock):
    clock.advance(seconds=1)
    return container.relay().run_until_idle()


def place(container, client, customer):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    receive(container, "B2", "DC1", 10)
    token = new_cart(client, customer_id=customer)
    ok(add(client, token, "A1", 2))
    ok(add(client, token, "B2", 1))
    return ok(checkout(client, token), 201)


def test_a_checkout_reaches_the_timeline_and_earns_pending_points(container, client, clock):
    customer = make_customer(container, "Olu Order", email="olu@example.com", verified=True)
    order = place(container, client, customer)
    number = order["number"]
    assert (order["total"], order["customer_id"]) == ("75.50", customer)
    assert timeline(client, customer) == []  # nothing until the relay delivers

    container.relay().run_once()

    assert timeline(client, customer) == [("order", number, "75.500", "confirmed", "WEB")]
    # 2 x £20.00 and 1 x £35.50 at 1 point per pound, each line rounded down
    assert ledger(client, customer) == [
        ("reward", 100, 0, "welcome"),
        ("earn", 0, 75, number),
    ]
    assert account(client, customer) == (100, 75)
    view = ok(client.get(f"/api/v1/customers/{customer}/360"))
    assert [(s["channel"], s["orders"], s["spend"]) for s in view["spend_by_channel"]] == [
        ("WEB", 1, "75.500")
    ]
    assert [o["reference"] for o in view["last_orders"]] == [number]
    assert view["loyalty"]["pending"] == 75

    # The same event delivered again (at least once) changes nothing.
    [confirmed] = _events(container, "omniretail.orders.order_confirmed")
    container.handlers.resolve("loyalty.earn_for_order")(confirmed, container.uow)
    container.handlers.resolve("customers.timeline_order")(confirmed, container.uow)
    assert account(client, customer) == (100, 75)
    assert len(timeline(client, customer)) == 1
    _no_drift(container)


def test_cancelled_and_refunded_lines_give_back_what_they_earned(container, client, clock):
    customer = make_customer(container, "Rae Return", email="rae@example.com", verified=True)
    order = place(container, client, customer)
    number = order["number"]
    line_of = {ln["sku"]: ln["line_no"] for ln in order["lines"]}
    relay(container, clock)
    assert account(client, customer) == (100, 75)

    # Cancelling the £35.50 line claws back its 35 pending points; the timeline's order
    # amount (the 360's spend) drops by the voided amount.
    cancelled = ok(
        client.post(f"/api/v1/orders/{number}/cancel", json={"line_nos": [line_of["B2"]]})
    )
    assert [ln["status"] for ln in cancelled["lines"] if ln["sku"] == "B2"] == ["cancelled"]
    relay(container, clock)
    assert account(client, customer) == (100, 40)
    assert timeline(client, customer) == [("order", number, "40.000", "partially_cancelled", "WEB")]

    # A refund of one of the two A1 units at a store claws back exactly that unit's 20 points
    # and puts the return on the timeline, against the channel the order was placed in.
    # (The event has the shape orders.returns records; it is recorded here directly.)
    refund = OrderRefunded(
        order=number,
        customer_id=customer,
        return_id="R-1",
        location="LON1",
        amount="20.00",
        reason=None,
        lines=[
            {
                "return_id": "R-1",
                "line_no": line_of["A1"],
                "sku": "A1",
                "quantity": 1,
                "condition": "sellable",
                "location": "LON1",
                "amount": "20.00",
                "reason": None,
            }
        ],
    )
    with container.uow() as uow:
        uow.record(refund)
    relay(container, clock)
    assert account(client, customer) == (100, 20)
    assert ledger(client, customer)[-2:] == [
        ("clawback", 0, -35, number),
        ("clawback", 0, -20, number),
    ]
    assert timeline(client, customer)[0] == ("return", "R-1", "-20.000", "refunded", "WEB")
    view = ok(client.get(f"/api/v1/customers/{customer}/360"))
    assert [(s["channel"], s["orders"], s["spend"]) for s in view["spend_by_channel"]] == [
        ("WEB", 1, "20.000")
    ]

    # Redelivered cancellation and refund events change nothing.
    for event_type in ("omniretail.orders.cancelled", "omniretail.orders.refunded"):
        [event] = _events(container, event_type)
        for handler in container.handlers.registrations:
            if handler.pattern == event_type and not handler.name.startswith("orders."):
                handler.handler(event, container.uow)
    assert account(client, customer) == (100, 20)
    assert len(ledger(client, customer)) == 4
    assert [t[2] for t in timeline(client, customer)] == ["-20.000", "40.000"]

    # When the return window closes, what is left becomes available.
    clock.advance(days=31)
    with container.uow() as uow:
        from omniretail.loyalty import service

        assert service.release_matured_points(uow, actor="t") == 1
    assert account(client, customer) == (120, 0)
    _no_drift(container)


def test_a_return_at_a_store_claws_back_through_the_relay(container, client, clock):
    """The real return flow (orders.returns): a delivered web order, one unit returned at a
    store, its points clawed back and the return on the timeline under the web channel."""
    from tests.orders.network import advance

    customer = make_customer(container, "Bo Boris", email="bo@example.com", verified=True)
    order = place(container, client, customer)
    number = order["number"]
    line_of = {ln["sku"]: ln["line_no"] for ln in order["lines"]}
    for f in order["fulfilments"]:
        advance(client, f["id"], "accept", "pick", "pack", "ship", "deliver")
    relay(container, clock)
    assert account(client, customer) == (100, 75)

    clock.advance(days=3)
    r = client.post(
        f"/api/v1/orders/{number}/returns",
        json={"location": "LON1", "lines": [{"line_no": line_of["B2"], "quantity": 1}]},
    )
    assert r.status_code == 200, r.text
    relay(container, clock)
    assert account(client, customer) == (100, 40)
    [refund] = timeline(client, customer)[:1]
    assert (refund[0], refund[2], refund[3], refund[4]) == ("return", "-35.500", "refunded", "WEB")
    spend = ok(client.get(f"/api/v1/customers/{customer}/360"))["spend_by_channel"]
    assert [(s["channel"], s["orders"], s["spend"]) for s in spend] == [("WEB", 1, "40.000")]
    _no_drift(container)


def test_an_exchange_moves_the_points_to_the_new_item(container, client, clock):
    """A1 (20 points) exchanged at a store for a B2 (35 points, 15.50 charged): the A1 unit's
    points go, the B2 earns as a purchase of its own; returning that B2 later takes them."""
    from tests.orders.network import advance

    customer = make_customer(container, "Eve Exchange", email="eve@example.com", verified=True)
    order = place(container, client, customer)
    number = order["number"]
    line_of = {ln["sku"]: ln["line_no"] for ln in order["lines"]}
    for f in order["fulfilments"]:
        advance(client, f["id"], "accept", "pick", "pack", "ship", "deliver")
    receive(container, "B2", "LON2", 1)
    relay(container, clock)
    assert account(client, customer) == (100, 75)

    clock.advance(days=2)
    r = client.post(
        f"/api/v1/orders/{number}/exchanges",
        json={
            "location": "LON2",
            "returns": [{"line_no": line_of["A1"], "quantity": 1}],
            "new_lines": [{"sku": "B2", "quantity": 1}],
        },
    )
    assert r.status_code == 200, r.text
    [new_line] = [
        ln["line_no"] for ln in r.json()["lines"] if ln["line_no"] not in line_of.values()
    ]
    relay(container, clock)
    assert account(client, customer) == (100, 75 - 20 + 35)
    [exchange_earn] = [e for e in ledger(client, customer) if e[3].startswith(number + "#")]
    assert exchange_earn[:3] == ("earn", 0, 35)

    r = client.post(
        f"/api/v1/orders/{number}/returns",
        json={"location": "LON2", "lines": [{"line_no": new_line, "quantity": 1}]},
    )
    assert r.status_code == 200, r.text
    relay(container, clock)
    assert account(client, customer) == (100, 55)
    _no_drift(container)


def test_a_refund_before_the_order_earned_is_retried(container, client, clock):
    """Deliveries are in outbox order but a failing one is retried later: a refund whose
    order has not earned yet fails and is delivered again once it has."""
    customer = make_customer(container, "Ira Early")
    event = {
        "id": "evt-early",
        "type": "omniretail.orders.refunded",
        "subject": "orders/W-404",
        "time": "2026-11-02T09:00:00Z",
        "data": OrderRefunded(
            order="W-404",
            customer_id=customer,
            return_id="R-404",
            location="LON1",
            amount="20.00",
            reason=None,
            lines=[{"line_no": 1, "sku": "A1", "quantity": 1}],
        ).data,
    }
    import pytest

    with pytest.raises(RuntimeError, match="has not earned"):
        container.handlers.resolve("loyalty.claw_back_refunded")(event, container.uow)
    with container.read_uow() as uow:
        assert activity.timeline(uow, customer) == []


def _events(container, event_type):
    with container.read_uow() as uow:
        return [
            m.as_cloud_event()
            for m in list_events(uow.session, limit=1000, type_prefix=event_type)
            if m.type == event_type
        ]


def _no_drift(container):
    with container.read_uow() as uow:
        assert service.recompute_balances(uow, fix=False).drift == []


def test_a_line_earns_at_its_products_category_rate(container, client, clock):
    """The handler reads each line's category (one statement for all lines): a category
    with its own rate earns at it, the others at the default."""
    customer = make_customer(container, "Cat Egory", email="cat@example.com", verified=True)
    make_orders_network(container)
    ok(
        client.post(
            "/api/v1/products",
            json={
                "code": "GIFTS",
                "name": "Gift box",
                "category": "Gifts",
                "skus": [{"code": "G1", "name": "Gift box", "price": "10.00"}],
            },
        ),
        201,
    )
    ok(
        client.put(
            "/api/v1/loyalty/programme",
            json={"welcome_points": 0, "points_per_unit_by_category": {"Gifts": "3"}},
        )
    )
    receive(container, "G1", "DC1", 5)
    receive(container, "A1", "DC1", 5)
    token = new_cart(client, customer_id=customer)
    ok(add(client, token, "G1", 2))
    ok(add(client, token, "A1", 1))
    number = ok(checkout(client, token), 201)["number"]

    relay(container, clock)

    # 2 x £10.00 at 3 points per pound, 1 x £20.00 at the default 1
    assert ("earn", 0, 80, number) in ledger(client, customer)
