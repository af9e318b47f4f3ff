"""Returns anywhere: a web order returned at a store (BORIS), restocked or written off there,
refunded to the original payment; partial, repeated and late returns."""

from __future__ import annotations

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
    receive,
    step,
    stock,
)


def _delivered_web_order(container, client, quantity=3):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    token = new_cart(client)
    ok(add(client, token, "A1", quantity))
    order = ok(checkout(client, token), 201)
    [f] = order["fulfilments"]
    advance(client, f["id"], "accept", "pick", "pack", "ship", "deliver")
    return order


def test_boris_return_restocks_at_the_store_and_refunds(container, client, clock, notices):
    order = _delivered_web_order(container, client)
    number = order["number"]
    clock.advance(days=5)

    returned = ok(
        client.post(
            f"/api/v1/orders/{number}/returns",
            json={
                "location": "LON2",
                "lines": [{"line_no": 1, "quantity": 2, "reason": "too small"}],
            },
        )
    )
    assert returned["lines"][0]["quantity_returned"] == 2
    assert returned["lines"][0]["returnable"] == 1
    assert returned["payment"]["refunded"] == "40.00"
    assert stock(client, "A1", "LON2") == (2, 0, 0, 0)  # sellable at the receiving store
    assert stock(client, "A1", "DC1") == (2, 0, 0, 0)
    assert ledger_kinds(client, "A1", "LON2") == ["return_restock"]
    [refund] = event_data(container, "refunded")
    assert (refund["amount"], refund["location"]) == ("40.00", "LON2")
    provider = container.payments
    assert [a.refunded for a in provider.authorisations.values()] == [0]  # after commit
    assert [(p["action"], p["amount"]) for p in returned["payment"]["pending"]] == [
        ("capture", "60.00"),
        ("refund", "40.00"),
    ]

    damaged = ok(
        client.post(
            f"/api/v1/orders/{number}/returns",
            json={
                "location": "LON1",
                "lines": [{"line_no": 1, "quantity": 1, "condition": "damaged"}],
            },
        )
    )
    assert damaged["lines"][0]["returnable"] == 0
    assert damaged["payment"]["refunded"] == "60.00"
    assert stock(client, "A1", "LON1") == (0, 0, 0, 0)
    assert ledger_kinds(client, "A1", "LON1") == ["return_restock", "write_off"]

    again = client.post(
        f"/api/v1/orders/{number}/returns",
        json={"location": "LON1", "lines": [{"line_no": 1, "quantity": 1}]},
    )
    assert again.status_code == 409
    assert again.json()["detail"] == "line 1 was already returned in full"
    assert len(event_data(container, "refunded")) == 2
    assert_verified(client)

    notices.deliver()
    assert notices.subjects() == [
        ("ada@example.com", f"Order {number} confirmed"),
        ("ada@example.com", f"Order {number} is on its way"),
        ("ada@example.com", f"Order {number} has been delivered"),
        ("ada@example.com", f"Refund of £40.00 for order {number}"),
        ("ada@example.com", f"Refund of £20.00 for order {number}"),
    ]
    *_, sellable, broken = notices.emails()
    assert "We have refunded £40.00 for your order" in sellable.text
    assert "Reason: too small" in sellable.text
    assert "- 2 x Item A1" in sellable.text
    assert "We have refunded £20.00 for your order" in broken.text
    assert "- 1 x Item A1" in broken.text
    assert notices.webhooks() == [
        ("order_confirmed", number),
        ("shipped", number),
        ("delivered", number),
        ("refunded", number),
        ("refunded", number),
    ]
    assert [a.refunded for a in provider.authorisations.values()] == [60]  # by the relay
    assert ok(client.get(f"/api/v1/orders/{number}"))["payment"]["pending"] == []


def test_returns_outside_the_rules_are_refused_and_write_nothing(container, client, clock):
    order = _delivered_web_order(container, client, quantity=2)
    number = order["number"]

    def attempt(location, line_no, quantity):
        body = {"location": location, "lines": [{"line_no": line_no, "quantity": quantity}]}
        return client.post(f"/api/v1/orders/{number}/returns", json=body)

    too_many = attempt("LON2", 1, 3)
    assert (too_many.status_code, too_many.json()["returnable"]) == (409, 2)
    assert attempt("MAN1", 1, 1).json()["field"] == "location"  # no returns desk there
    assert attempt("LON2", 7, 1).status_code == 409
    clock.advance(days=31)
    late = attempt("LON2", 1, 1)
    assert late.status_code == 409
    assert "return window closed" in late.json()["detail"]
    assert stock(client, "A1", "LON2") == (0, 0, 0, 0)
    assert event_data(container, "refunded") == []
    assert ok(client.get(f"/api/v1/orders/{number}"))["lines"][0]["quantity_returned"] == 0


def test_unshipped_lines_are_cancelled_not_returned(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 1)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    order = ok(checkout(client, token), 201)
    ok(step(client, order["fulfilments"][0]["id"], "accept"))
    refused = client.post(
        f"/api/v1/orders/{order['number']}/returns",
        json={"location": "LON2", "lines": [{"line_no": 1, "quantity": 1}]},
    )
    assert refused.status_code == 409
    assert "only shipped or collected items" in refused.json()["detail"]


def test_exchange_with_price_difference_charged_then_refunded(container, client, clock, notices):
    order = _delivered_web_order(container, client, quantity=2)
    receive(container, "B2", "LON2", 2)
    receive(container, "A1", "LON2", 1)
    number = order["number"]
    clock.advance(days=3)

    up = ok(
        client.post(
            f"/api/v1/orders/{number}/exchanges",
            json={
                "location": "LON2",
                "returns": [{"line_no": 1, "quantity": 1, "reason": "wrong colour"}],
                "new_lines": [{"sku": "B2", "quantity": 1}],
            },
        )
    )
    assert [(ln["line_no"], ln["sku"], ln["status"]) for ln in up["lines"]] == [
        (1, "A1", "fulfilled"),
        (2, "B2", "fulfilled"),
    ]
    assert up["lines"][0]["returnable"] == 1
    exchange = next(f for f in up["fulfilments"] if f["id"] == up["lines"][1]["fulfilment_id"])
    assert (exchange["status"], exchange["location"]) == ("collected", "LON2")
    assert up["payment"]["refunded"] == "0.00"
    provider = container.payments
    charges = [a for a in provider.authorisations.values() if a.amount == 15.5]
    assert [(a.captured, a.token) for a in charges] == [(0, "tok_visa")]  # authorised now
    container.relay().run_until_idle()
    assert [(a.captured, a.token) for a in charges] == [(15.5, "tok_visa")]  # captured after
    assert stock(client, "A1", "LON2") == (2, 0, 0, 0)
    assert stock(client, "B2", "LON2") == (1, 0, 0, 0)
    assert ledger_kinds(client, "B2", "LON2") == ["receipt", "sale"]

    down = ok(
        client.post(
            f"/api/v1/orders/{number}/exchanges",
            json={
                "location": "LON2",
                "returns": [{"line_no": 2, "quantity": 1}],
                "new_lines": [{"sku": "A1", "quantity": 1}],
            },
        )
    )
    assert down["payment"]["refunded"] == "15.50"
    assert [ln["sku"] for ln in down["lines"]] == ["A1", "B2", "A1"]
    assert down["lines"][1]["returnable"] == 0
    [refund] = event_data(container, "refunded")
    assert refund["amount"] == "15.50"
    assert len(event_data(container, "exchanged")) == 2
    assert stock(client, "B2", "LON2") == (2, 0, 0, 0)
    assert stock(client, "A1", "LON2") == (1, 0, 0, 0)
    assert_verified(client)

    notices.deliver()  # a receipt per exchange; the refunded difference is confirmed as well
    assert notices.subjects() == [
        ("ada@example.com", f"Order {number} confirmed"),
        ("ada@example.com", f"Order {number} is on its way"),
        ("ada@example.com", f"Order {number} has been delivered"),
        ("ada@example.com", f"Your exchange for order {number}"),
        ("ada@example.com", f"Your exchange for order {number}"),
        ("ada@example.com", f"Refund of £15.50 for order {number}"),
    ]
    *_, upgrade, downgrade, refunded = notices.emails()
    assert "Here is the receipt for your exchange at London Camden" in upgrade.text
    assert "You returned:\n- 1 x Item A1" in upgrade.text
    assert "You took:\n- 1 x Item B2" in upgrade.text
    assert "We have charged £15.50 to your original payment method" in upgrade.text
    assert "You returned:\n- 1 x Item B2" in downgrade.text
    assert "You took:\n- 1 x Item A1" in downgrade.text
    assert "We are refunding £15.50 to your original payment method" in downgrade.text
    assert "- 1 x Item B2" in refunded.text
    assert notices.webhooks() == [
        ("order_confirmed", number),
        ("shipped", number),
        ("delivered", number),
        ("exchanged", number),
        ("exchanged", number),
        ("refunded", number),
    ]
