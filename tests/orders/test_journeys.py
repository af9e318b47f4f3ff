"""Order journeys through the HTTP API, step by step, on SQLite and PostgreSQL.

Each asserts stock counters, the ledger (and a clean verify), the order's state and the events
the customer's notifications are sent from.
"""

from __future__ import annotations

from sqlalchemy import text

from tests.orders.network import (
    HOME,
    add,
    advance,
    assert_verified,
    checkout,
    event_data,
    ledger_kinds,
    make_customer,
    make_orders_network,
    new_cart,
    ok,
    order_events,
    receive,
    step,
    stock,
    tracking,
    waiting_code,
)


def test_ship_to_home(container, client, notices):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    receive(container, "A1", "LON2", 3)
    customer = make_customer(container)
    token = new_cart(client, customer_id=customer)

    cart = ok(add(client, token, "A1", 2))
    assert [(ln["sku"], ln["quantity"], ln["location"]) for ln in cart["lines"]] == [
        ("A1", 2, "DC1")
    ]
    assert cart["total"] == "40.00"
    assert stock(client, "A1", "DC1") == (5, 2, 0, 0)

    options = ok(client.get(f"/api/v1/carts/{token}/fulfilment-options", params=HOME))
    home = next(o for o in options["options"] if o["method"] == "ship_to_home")
    assert home["available"] is True
    assert home["promise_date"] == "2026-11-04"

    order = ok(checkout(client, token), 201)
    assert order["status"] == "confirmed"
    assert order["total"] == "40.00"
    assert order["payment"]["authorised"] == "40.00"
    [f] = order["fulfilments"]
    assert (f["method"], f["location"], f["status"]) == ("ship_to_home", "DC1", "created")
    assert stock(client, "A1", "DC1") == (5, 0, 2, 0)

    advance(client, f["id"], "accept", "pick", "pack")
    order = ok(step(client, f["id"], "ship", {"carrier": "DPD", "tracking_number": "TRK1"}))
    assert order["status"] == "shipped"
    assert order["payment"]["captured"] == "40.00"
    assert stock(client, "A1", "DC1") == (3, 0, 0, 0)
    order = advance(client, f["id"], "deliver")
    assert order["status"] == "completed"
    assert order["lines"][0]["returnable"] == 2
    stored = ok(client.get(f"/api/v1/orders/{order['number']}"))
    assert (stored["total"], stored["lines"][0]["unit_price"]) == ("40.00", "20.00")

    assert ledger_kinds(client, "A1", "DC1") == ["receipt", "reserve", "allocate", "fulfil"]
    assert stock(client, "A1", "LON2") == (3, 0, 0, 0)
    assert_verified(client)
    assert order_events(container) == [
        "cart_created",
        "cart_line_added",
        "order_confirmed",
        "fulfilment_accepted",
        "fulfilment_picking",
        "fulfilment_packed",
        "shipped",
        "delivered",
    ]
    [shipped] = event_data(container, "shipped")
    assert (shipped["carrier"], shipped["tracking_number"]) == ("DPD", "TRK1")
    assert tracking(client, order)["status"] == "completed"
    cart = ok(client.get(f"/api/v1/carts/{token}"))
    assert (cart["status"], cart["order_number"]) == ("checked_out", order["number"])

    notices.deliver()
    number, link = order["number"], f"http://127.0.0.1:8000{order['tracking_url']}"
    assert notices.subjects() == [
        ("ada@example.com", f"Order {number} confirmed"),
        ("ada@example.com", f"Order {number} is on its way"),
        ("ada@example.com", f"Order {number} has been delivered"),
    ]
    confirmed, shipped, delivered = notices.emails()
    assert "- 2 x Item A1  £40.00" in confirmed.text
    assert "Total: £40.00" in confirmed.text
    assert "handed to DPD" in shipped.text
    assert "Tracking number: TRK1" in shipped.text
    assert "Expected delivery: 2026-11-04" in shipped.text
    assert f"Track the parcel: {link}" in shipped.text
    assert f"Order details: {link}" in delivered.text
    assert notices.webhooks() == [
        ("order_confirmed", number),
        ("shipped", number),
        ("delivered", number),
    ]


def test_click_and_collect_with_the_pickup_code(container, client, notices):
    make_orders_network(container)
    receive(container, "A1", "LON1", 2)
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="LON1"))

    near_store = {"lat": 51.5150, "lon": -0.1420}
    options = ok(client.get(f"/api/v1/carts/{token}/fulfilment-options", params=near_store))
    pickup = next(
        o
        for o in options["options"]
        if o["method"] == "pickup_in_store" and o["location"] == "LON1"
    )
    assert pickup["available"] is True
    assert pickup["promise_date"] == "2026-11-02"
    assert pickup["ready_by"].startswith("2026-11-02T11:00")
    assert any(o["method"] == "curbside" and o["location"] == "LON1" for o in options["options"])

    order = ok(checkout(client, token, "pickup_in_store", pickup="LON1"), 201)
    [f] = order["fulfilments"]
    assert (f["method"], f["location"], f["pickup_location"]) == ("pickup_in_store", "LON1", "LON1")
    assert stock(client, "A1", "LON1") == (2, 0, 1, 0)

    order = advance(client, f["id"], "accept", "pick", "pack", "ready")
    assert order["status"] == "ready_for_pickup"
    code = waiting_code(container, order)
    assert len(code) == 6
    as_json = client.get(order["tracking_url"], headers={"Accept": "application/json"})
    page = client.get(order["tracking_url"])
    # the order is kept by no cache
    for answer in (as_json, page):
        assert answer.headers["cache-control"] == "no-store", answer.headers
        assert answer.headers["referrer-policy"] == "no-referrer"
    # The link is forwarded and staff see it: it shows the order waiting, never its code
    # (nor a QR code of it); the code is in the owner's email and account.
    [waiting] = as_json.json()["fulfilments"]
    assert waiting["status"] == "ready_for_pickup" and "pickup_code" not in waiting
    assert code not in as_json.text and code not in page.text
    assert "pickup code is in the email" in page.text
    assert client.get(f"{order['tracking_url']}/pickup/0.svg").status_code == 404
    staff = ok(client.get(f"/api/v1/orders/{order['number']}"))
    assert code not in str(staff)
    [ready] = event_data(container, "ready_for_pickup")
    # The code hands the goods over: sealed on the fulfilment, in no event (nor downstream).
    assert "pickup_code" not in ready and code not in ready.values()
    with container.read_uow() as uow:
        sealed = uow.session.execute(text("SELECT pickup_code_enc FROM fulfilments")).scalar_one()
    assert sealed.startswith("v2:") and code not in sealed
    notices.deliver()  # the relay mails the code while the order waits

    wrong = "000000" if code != "000000" else "111111"
    refused = step(client, f["id"], "collect", {"pickup_code": wrong})
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/wrong-pickup-code")
    assert stock(client, "A1", "LON1") == (2, 0, 1, 0)

    order = ok(step(client, f["id"], "collect", {"pickup_code": code}))
    assert order["status"] == "completed"
    assert order["payment"]["captured"] == "20.00"
    assert stock(client, "A1", "LON1") == (1, 0, 0, 0)
    assert ledger_kinds(client, "A1", "LON1") == ["receipt", "reserve", "allocate", "fulfil"]
    assert_verified(client)
    assert order_events(container)[-2:] == ["ready_for_pickup", "collected"]
    page = client.get(order["tracking_url"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert order["number"] in page.text
    assert code not in page.text

    notices.deliver()
    number = order["number"]
    assert notices.subjects() == [
        ("ada@example.com", f"Order {number} confirmed"),
        ("ada@example.com", f"Order {number} is ready for pickup at London Oxford St"),
    ]
    confirmed, ready = notices.emails()
    assert "You will collect it from:\nLondon Oxford St" in confirmed.text
    assert f"Pickup code: {code}" in ready.text
    assert "Show this code at the counter." in ready.text
    assert "London Oxford St, UK" in ready.text
    assert "Please collect it by 2026-11-09 09:00" in ready.text
    assert f"<strong>{code}</strong>" in ready.html
    assert "\ue000" not in ready.text + ready.html  # the secret's marks go with no send
    # Staff's message log has the message, its code masked (the send above had it in clear).
    log = ok(client.get("/api/v1/notifications/messages", params={"kind": "ready_for_pickup"}))
    assert log["items"] and code not in str(log)
    [shown] = log["items"]
    assert "Pickup code: \u2022\u2022\u2022\u2022\u2022\u2022" in shown["body"]
    assert code not in str(ok(client.get(f"/api/v1/notifications/messages/{shown['id']}")))
    assert notices.webhooks() == [
        ("order_confirmed", number),
        ("ready_for_pickup", number),
        ("collected", number),
    ]


def test_associate_override_at_handover_is_logged(container, client):
    make_orders_network(container)
    receive(container, "A1", "LON1", 1)
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="LON1"))
    order = ok(checkout(client, token, "curbside", pickup="LON1"), 201)
    [f] = order["fulfilments"]
    assert f["method"] == "curbside"
    advance(client, f["id"], "accept", "pick", "pack", "ready")

    order = ok(
        client.post(
            f"/api/v1/fulfilments/{f['id']}/collect",
            json={"override_reason": "ID checked: passport"},
        )
    )
    assert order["status"] == "completed"
    log = ok(client.get(f"/api/v1/orders/{order['number']}/log"))
    override = [e for e in log if e["action"] == "handover_override"]
    assert [(e["actor"], e["detail"]["reason"]) for e in override] == [
        ("admin:test-admin", "ID checked: passport")  # the signed-in principal
    ]
    assert stock(client, "A1", "LON1") == (0, 0, 0, 0)
    assert_verified(client)


def test_ship_to_store(container, client, notices):
    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 2))

    near_camden = {"lat": 51.5395, "lon": -0.1430}
    options = ok(client.get(f"/api/v1/carts/{token}/fulfilment-options", params=near_camden))
    later = next(o for o in options["options"] if o["location"] == "LON2")
    assert (later["method"], later["available"], later["sources"]) == (
        "ship_to_store",
        True,
        ["DC1"],
    )
    assert later["promise_date"] == "2026-11-04"

    order = ok(checkout(client, token, "ship_to_store", pickup="LON2"), 201)
    [f] = order["fulfilments"]
    assert (f["method"], f["location"], f["pickup_location"]) == ("ship_to_store", "DC1", "LON2")
    advance(client, f["id"], "accept", "pick", "pack")
    order = ok(step(client, f["id"], "ship", {"carrier": "internal"}))
    assert order["status"] == "shipped"
    transfer_id = order["fulfilments"][0]["transfer_id"]
    transfer = ok(client.get(f"/api/v1/inventory/transfers/{transfer_id}"))
    assert (transfer["status"], transfer["reference"]) == ("in_transit", order["number"])
    assert stock(client, "A1", "DC1") == (1, 0, 0, 0)
    assert stock(client, "A1", "LON2") == (0, 0, 0, 2)

    order = ok(step(client, f["id"], "ready"))
    assert order["status"] == "arrived_at_store"
    assert stock(client, "A1", "LON2") == (2, 0, 2, 0)
    [ready] = event_data(container, "ready_for_pickup")
    assert ready["arrived_at_store"] is True
    code = waiting_code(container, order)
    notices.deliver()

    order = ok(step(client, f["id"], "collect", {"pickup_code": code}))
    assert order["status"] == "completed"
    assert stock(client, "A1", "LON2") == (0, 0, 0, 0)
    assert ledger_kinds(client, "A1", "DC1") == [
        "receipt",
        "reserve",
        "allocate",
        "deallocate",
        "transfer_request",
        "transfer_out",
    ]
    assert ledger_kinds(client, "A1", "LON2") == [
        "transfer_in_transit",
        "transfer_in",
        "allocate",
        "fulfil",
    ]
    assert order_events(container)[-3:] == ["shipped", "ready_for_pickup", "collected"]
    assert_verified(client)

    notices.deliver()  # no "on its way" email: the parcel went to the store, not to the customer
    number = order["number"]
    assert notices.subjects() == [
        ("ada@example.com", f"Order {number} confirmed"),
        ("ada@example.com", f"Order {number} has arrived at London Camden"),
    ]
    _confirmed, arrived = notices.emails()
    assert f"Your order {number} has arrived at the store and is ready for pickup." in arrived.text
    assert f"Pickup code: {code}" in arrived.text
    assert notices.webhooks() == [
        ("order_confirmed", number),
        ("shipped", number),
        ("ready_for_pickup", number),
        ("collected", number),
    ]


def test_locker(container, client, notices):
    make_orders_network(container)
    receive(container, "A1", "DC1", 2)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    options = ok(client.get(f"/api/v1/carts/{token}/fulfilment-options", params=HOME))
    locker = next(o for o in options["options"] if o["method"] == "locker")
    assert (locker["location"], locker["available"]) == ("LOCK1", True)

    order = ok(checkout(client, token, "locker", pickup="LOCK1"), 201)
    [f] = order["fulfilments"]
    assert (f["location"], f["pickup_location"]) == ("DC1", "LOCK1")
    advance(client, f["id"], "accept", "pick", "pack")
    order = ok(step(client, f["id"], "ship", {"carrier": "InPost"}))
    assert stock(client, "A1", "DC1") == (1, 0, 0, 0)
    assert order["payment"]["captured"] == "20.00"
    order = ok(step(client, f["id"], "ready"))
    assert order["status"] == "ready_for_pickup"
    code = waiting_code(container, order)
    notices.deliver()
    order = ok(step(client, f["id"], "collect", {"pickup_code": code}))
    assert order["status"] == "completed"
    assert order["payment"]["captured"] == "20.00"
    assert ledger_kinds(client, "A1", "DC1") == ["receipt", "reserve", "allocate", "fulfil"]
    assert order_events(container)[-3:] == ["shipped", "ready_for_pickup", "collected"]
    assert_verified(client)

    notices.deliver()
    number = order["number"]
    assert notices.subjects() == [
        ("ada@example.com", f"Order {number} confirmed"),
        ("ada@example.com", f"Order {number} is on its way"),
        ("ada@example.com", f"Order {number} is ready for pickup at King's Cross locker"),
    ]
    _confirmed, shipped, ready = notices.emails()
    assert "handed to InPost" in shipped.text
    assert f"Pickup code: {code}" in ready.text
    assert notices.webhooks() == [
        ("order_confirmed", number),
        ("shipped", number),
        ("ready_for_pickup", number),
        ("collected", number),
    ]


def test_split_shipment_across_two_locations(container, client, notices):
    make_orders_network(container)
    receive(container, "A1", "DC1", 1)
    receive(container, "B2", "LON2", 1)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    cart = ok(add(client, token, "B2", 1))
    assert {ln["sku"]: ln["location"] for ln in cart["lines"]} == {"A1": "DC1", "B2": "LON2"}

    order = ok(checkout(client, token), 201)
    assert order["total"] == "55.50"
    by_location = {f["location"]: f for f in order["fulfilments"]}
    assert sorted(by_location) == ["DC1", "LON2"]
    lines = {ln["sku"]: ln["fulfilment_id"] for ln in order["lines"]}
    assert lines == {"A1": by_location["DC1"]["id"], "B2": by_location["LON2"]["id"]}
    assert stock(client, "A1", "DC1") == (1, 0, 1, 0)
    assert stock(client, "B2", "LON2") == (1, 0, 1, 0)

    advance(client, by_location["DC1"]["id"], "accept", "pick", "pack")
    order = ok(step(client, by_location["DC1"]["id"], "ship", {}))
    assert order["status"] == "partially_shipped"
    assert order["payment"]["captured"] == "20.00"
    advance(client, by_location["LON2"]["id"], "accept", "pick", "pack")
    order = ok(step(client, by_location["LON2"]["id"], "ship", {}))
    assert order["status"] == "shipped"
    assert order["payment"]["captured"] == "55.50"
    assert stock(client, "A1", "DC1") == (0, 0, 0, 0)
    assert stock(client, "B2", "LON2") == (0, 0, 0, 0)
    assert ledger_kinds(client, "B2", "LON2") == ["receipt", "reserve", "allocate", "fulfil"]
    assert_verified(client)
    assert order_events(container).count("shipped") == 2

    notices.deliver()  # one "on its way" email per parcel, each naming its own items
    number = order["number"]
    assert notices.subjects() == [
        ("ada@example.com", f"Order {number} confirmed"),
        ("ada@example.com", f"Order {number} is on its way"),
        ("ada@example.com", f"Order {number} is on its way"),
    ]
    _confirmed, first, second = notices.emails()
    assert "- 1 x Item A1  £20.00" in first.text
    assert "Item B2" not in first.text
    assert "- 1 x Item B2  £35.50" in second.text
    assert "Item A1" not in second.text
    assert notices.webhooks() == [
        ("order_confirmed", number),
        ("shipped", number),
        ("shipped", number),
    ]


def test_store_rejection_reroutes_then_cancels_when_no_store_is_left(
    container, client, clock, notices
):
    make_orders_network(container)
    receive(container, "A1", "LON1", 1)
    receive(container, "A1", "LON2", 1)
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="LON1"))
    order = ok(checkout(client, token), 201)
    [first] = order["fulfilments"]
    assert first["location"] == "LON1"
    assert stock(client, "A1", "LON1") == (1, 0, 1, 0)

    ok(step(client, first["id"], "accept"))
    clock.advance(minutes=30)
    order = ok(step(client, first["id"], "reject", {"reason": "damaged", "note": "box crushed"}))
    rejected, second = order["fulfilments"]
    assert (rejected["id"], rejected["status"]) == (first["id"], "rejected")
    assert (second["location"], second["status"], second["method"]) == (
        "LON2",
        "created",
        "ship_to_home",
    )
    assert order["lines"][0]["fulfilment_id"] == second["id"]
    assert order["status"] == "confirmed"
    assert stock(client, "A1", "LON1") == (1, 0, 0, 0)
    assert stock(client, "A1", "LON2") == (1, 0, 1, 0)
    [rerouted] = event_data(container, "rerouted")
    assert rerouted["excluded"] == ["LON1"]

    order = ok(step(client, second["id"], "reject", {"reason": "out_of_stock"}))
    assert order["status"] == "cancelled"
    assert order["lines"][0]["status"] == "cancelled"
    assert order["payment"]["voided"] == "20.00"
    assert [f["status"] for f in order["fulfilments"]] == ["rejected", "rejected"]
    assert stock(client, "A1", "LON1") == (1, 0, 0, 0)
    assert stock(client, "A1", "LON2") == (1, 0, 0, 0)
    [cancelled] = event_data(container, "cancelled")
    assert cancelled["reason"].startswith("no location left")
    assert_verified(client)

    again = step(client, second["id"], "accept")
    assert again.status_code == 409
    assert again.json()["type"].endswith("/illegal-transition")

    notices.deliver()  # the re-route itself is not news to the customer; the cancellation is
    number = order["number"]
    assert notices.subjects() == [
        ("ada@example.com", f"Order {number} confirmed"),
        ("ada@example.com", f"Order {number} cancelled"),
    ]
    _confirmed, cancelled_email = notices.emails()
    assert "Reason: no location left" in cancelled_email.text
    assert "the £20.00 held on your card is released" in cancelled_email.text
    assert notices.webhooks() == [
        ("order_confirmed", number),
        ("rerouted", number),
        ("cancelled", number),
    ]


def test_payment_declined_leaves_nothing_half_done(container, client, notices):
    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    cart = ok(add(client, token, "A1", 2))

    refused = checkout(client, token, card="tok_decline_insufficient_funds")
    assert refused.status_code == 402
    assert refused.json()["type"].endswith("/payment-declined")
    # The allocation was committed before the provider was asked; the decline gave it back
    # (the cart is active again, its lines no longer held) and left no order.
    assert stock(client, "A1", "DC1") == (3, 0, 0, 0)
    assert ledger_kinds(client, "A1", "DC1") == ["receipt", "reserve", "allocate", "deallocate"]
    after = ok(client.get(f"/api/v1/carts/{token}"))
    assert after["status"] == "active"
    assert after["version"] > cart["version"]
    assert after["order_number"] is None
    assert "order_confirmed" not in order_events(container)
    notices.deliver()
    assert (notices.emails(), notices.webhooks()) == ([], [])  # nothing was sent

    timed_out = checkout(client, token, card="tok_timeout")
    assert timed_out.status_code == 503
    provider = container.payments
    [lapsed] = provider.by_token("tok_timeout")
    assert lapsed.status == "voided"
    assert stock(client, "A1", "DC1") == (3, 0, 0, 0)

    card_number = checkout(client, token, card="4242 4242 4242 4242")
    assert card_number.status_code == 422
    assert card_number.json()["field"] == "payment.provider_token"
    notices.deliver()
    assert (notices.emails(), notices.webhooks()) == ([], [])  # still nothing

    first = checkout(client, token, key="checkout-1")
    order = ok(first, 201)
    replay = checkout(client, token, key="checkout-1")
    assert replay.status_code == 201
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["number"] == order["number"]
    assert len(provider.by_token("tok_visa")) == 1
    assert stock(client, "A1", "DC1") == (3, 0, 2, 0)
    assert order_events(container).count("order_confirmed") == 1
    assert_verified(client)

    again = checkout(client, token)
    assert again.status_code == 409
    assert again.json()["order_number"] == order["number"]
    notices.deliver()  # one confirmation, not one per attempt or replay
    assert notices.subjects() == [("ada@example.com", f"Order {order['number']} confirmed")]
    assert notices.webhooks() == [("order_confirmed", order["number"])]


def test_cancel_lines_then_the_order_before_shipment(container, client, notices):
    make_orders_network(container)
    receive(container, "A1", "DC1", 2)
    receive(container, "B2", "DC1", 2)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    ok(add(client, token, "B2", 2))
    order = ok(checkout(client, token), 201)
    assert order["total"] == "91.00"
    [f] = order["fulfilments"]
    ok(step(client, f["id"], "accept"))

    number = order["number"]
    order = ok(client.post(f"/api/v1/orders/{number}/cancel", json={"line_nos": [2]}))
    assert [ln["status"] for ln in order["lines"]] == ["open", "cancelled"]
    assert order["status"] == "in_progress"
    assert order["payment"]["voided"] == "71.00"
    assert stock(client, "B2", "DC1") == (2, 0, 0, 0)
    assert stock(client, "A1", "DC1") == (2, 0, 1, 0)

    order = ok(client.post(f"/api/v1/orders/{number}/cancel", json={"reason": "changed mind"}))
    assert order["status"] == "cancelled"
    assert order["fulfilments"][0]["status"] == "cancelled"
    assert order["payment"]["voided"] == "91.00"
    assert stock(client, "A1", "DC1") == (2, 0, 0, 0)
    assert [d["reason"] for d in event_data(container, "cancelled")] == [
        "customer request",
        "changed mind",
    ]
    nothing = client.post(f"/api/v1/orders/{number}/cancel", json={})
    assert nothing.status_code == 409
    assert_verified(client)

    notices.deliver()
    assert notices.subjects() == [
        ("ada@example.com", f"Order {number} confirmed"),
        ("ada@example.com", f"Order {number} partly cancelled"),
        ("ada@example.com", f"Order {number} cancelled"),
    ]
    _confirmed, partly, whole = notices.emails()
    assert "the rest of the order goes ahead" in partly.text
    assert "- 2 x Item B2  £71.00" in partly.text
    assert "Item A1" not in partly.text
    assert "the £71.00 held on your card is released" in partly.text
    assert f"Your order {number} has been cancelled." in whole.text
    assert "Reason: changed mind" in whole.text
    assert "- 1 x Item A1  £20.00" in whole.text
    assert "the £20.00 held on your card is released" in whole.text
    assert notices.webhooks() == [
        ("order_confirmed", number),
        ("cancelled", number),
        ("cancelled", number),
    ]


def test_shipped_lines_cannot_be_cancelled(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 1)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    order = ok(checkout(client, token), 201)
    [f] = order["fulfilments"]
    advance(client, f["id"], "accept", "pick", "pack", "ship")
    before = order_events(container)

    refused = client.post(f"/api/v1/orders/{order['number']}/cancel", json={})
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/not-cancellable")
    assert order_events(container) == before
    skipped = step(client, f["id"], "ready")
    assert skipped.status_code == 409
    assert skipped.json()["next_steps"] == ["delivered"]


def test_uncollected_order_is_reminded_then_returned_to_stock(container, client, clock, notices):
    make_orders_network(container)
    receive(container, "A1", "LON1", 2)
    token = new_cart(client)
    ok(add(client, token, "A1", 2, location="LON1"))
    order = ok(checkout(client, token, "pickup_in_store", pickup="LON1"), 201)
    [f] = order["fulfilments"]
    order = advance(client, f["id"], "accept", "pick", "pack", "ready")
    assert order["fulfilments"][0]["collect_by"].startswith("2026-11-09T09:00")

    sweep = "/api/v1/orders/sweep-pickups"
    assert ok(client.post(sweep)) == {"reminded": 0, "returned_to_stock": 0}
    clock.advance(days=4, minutes=1)
    assert ok(client.post(sweep)) == {"reminded": 1, "returned_to_stock": 0}
    assert ok(client.post(sweep)) == {"reminded": 0, "returned_to_stock": 0}
    clock.advance(days=2)
    assert ok(client.post(sweep)) == {"reminded": 1, "returned_to_stock": 0}
    assert [d["reminder"] for d in event_data(container, "pickup_reminder")] == [1, 2]
    assert stock(client, "A1", "LON1") == (2, 0, 2, 0)
    code = waiting_code(container, order)
    notices.deliver()  # the relay sends while the order waits (the code is read then)

    clock.advance(days=1)
    assert ok(client.post(sweep)) == {"reminded": 0, "returned_to_stock": 1}
    order = ok(client.get(f"/api/v1/orders/{order['number']}"))
    assert order["status"] == "returned_to_stock"
    assert order["fulfilments"][0]["status"] == "returned_to_stock"
    assert order["payment"]["voided"] == "40.00"
    assert stock(client, "A1", "LON1") == (2, 0, 0, 0)
    assert ledger_kinds(client, "A1", "LON1") == ["receipt", "reserve", "allocate", "deallocate"]
    [cancelled] = event_data(container, "cancelled")
    assert cancelled["reason"] == "not collected within 7 days"
    assert_verified(client)

    notices.deliver()
    number = order["number"]
    waiting = ("ada@example.com", f"Reminder: order {number} is waiting at London Oxford St")
    assert notices.subjects() == [
        ("ada@example.com", f"Order {number} confirmed"),
        ("ada@example.com", f"Order {number} is ready for pickup at London Oxford St"),
        waiting,
        waiting,
        ("ada@example.com", f"Order {number} cancelled"),
    ]
    _confirmed, _ready, first, second, returned = notices.emails()
    assert f"Pickup code: {code}" in first.text
    assert f"Pickup code: {code}" in second.text
    assert "Reason: not collected within 7 days" in returned.text
    assert "- 2 x Item A1  £40.00" in returned.text
    assert "the £40.00 held on your card is released" in returned.text
    assert notices.webhooks() == [
        ("order_confirmed", number),
        ("ready_for_pickup", number),
        ("pickup_reminder", number),
        ("pickup_reminder", number),
        ("cancelled", number),
    ]


def test_stock_that_vanished_before_checkout_leaves_nothing_half_done(container, client, clock):
    make_orders_network(container)
    receive(container, "A1", "DC1", 1)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    clock.advance(minutes=20)  # the reservation lapsed...
    other = new_cart(client)
    ok(add(client, other, "A1", 1))  # ...and someone else took the last unit

    refused = checkout(client, token)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/no-route")
    assert refused.json()["unplaced"] == [{"sku": "A1", "quantity": 1}]
    assert stock(client, "A1", "DC1") == (1, 1, 0, 0)
    assert container.payments.authorisations == {}
    assert ok(client.get(f"/api/v1/carts/{token}"))["status"] == "active"
    assert "order_confirmed" not in order_events(container)
    assert_verified(client)
