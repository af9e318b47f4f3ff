"""Carts through the API: one cart per customer on every channel, channel prices, holds that
say why they can no longer be served, login merge, QR lookup."""

from __future__ import annotations

from tests.orders.network import (
    add,
    assert_verified,
    make_customer,
    make_orders_network,
    new_cart,
    ok,
    order_events,
    receive,
    stock,
)


def test_the_same_cart_on_every_channel_with_channel_prices(container, client):
    make_orders_network(container)
    receive(container, "A1", "LON1", 5)
    ok(client.put("/api/v1/prices/A1/POS", json={"price": "18.50"}))
    customer = make_customer(container)

    token = new_cart(client, "WEB", customer)
    ok(add(client, token, "A1", 2, location="LON1"))
    # the app opens "a new cart" for the same customer: it is the same cart
    assert new_cart(client, "POS", customer) == token

    web = ok(client.get(f"/api/v1/carts/{token}", params={"channel": "WEB"}))
    pos = ok(client.get(f"/api/v1/carts/{token}", params={"channel": "POS"}))
    assert (web["lines"][0]["unit_price"], web["total"]) == ("20.00", "40.00")
    assert (pos["lines"][0]["unit_price"], pos["total"]) == ("18.50", "37.00")

    found = ok(client.get("/api/v1/carts", params={"customer_id": customer}))
    assert found["token"] == token
    svg = client.get(f"/api/v1/carts/{token}/qr.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.lstrip().startswith("<?xml") or "<svg" in svg.text
    png = client.get(f"/api/v1/carts/{token}/qr.png")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    # the token is the cart's bearer secret: kept by no cache
    assert (svg.headers["cache-control"], png.headers["cache-control"]) == ("no-store", "no-store")
    assert client.get("/api/v1/carts/not-a-token/qr.svg").status_code == 404


def test_changing_quantities_moves_the_reservation_and_refuses_what_cannot_be_served(
    container, client
):
    make_orders_network(container)
    receive(container, "A1", "LON1", 3)
    receive(container, "A1", "LON2", 6)
    token = new_cart(client)
    ok(add(client, token, "A1", 2, location="LON1"))
    assert stock(client, "A1", "LON1") == (3, 2, 0, 0)

    refused = client.patch(f"/api/v1/carts/{token}/lines/A1", json={"quantity": 5})
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"].endswith("/lines-unavailable")
    assert (problem["available_here"], problem["max_quantity"]) == (3, 6)
    assert problem["alternatives"] == [{"location": "LON2", "available": 6}]
    assert "LON2 (6)" in problem["detail"]
    assert stock(client, "A1", "LON1") == (3, 2, 0, 0)

    cart = ok(
        client.patch(f"/api/v1/carts/{token}/lines/A1", json={"quantity": 5, "location": "LON2"})
    )
    assert [(ln["quantity"], ln["location"]) for ln in cart["lines"]] == [(5, "LON2")]
    assert stock(client, "A1", "LON1") == (3, 0, 0, 0)
    assert stock(client, "A1", "LON2") == (6, 5, 0, 0)

    cart = ok(client.delete(f"/api/v1/carts/{token}/lines/A1"))
    assert cart["lines"] == []
    assert stock(client, "A1", "LON2") == (6, 0, 0, 0)
    unknown = add(client, token, "ZZ9", 1)
    assert unknown.status_code == 404
    assert_verified(client)


def test_a_lapsed_reservation_says_why_and_a_refresh_takes_it_again(container, client, clock):
    make_orders_network(container)
    receive(container, "A1", "DC1", 2)
    receive(container, "B2", "DC1", 1)
    token = new_cart(client)
    ok(add(client, token, "A1", 2))
    ok(add(client, token, "B2", 1))

    clock.advance(minutes=16)  # past the 15-minute web TTL
    # someone else buys the only B2 (its lapsed hold does not block them)
    other = new_cart(client)
    ok(add(client, other, "B2", 1))
    cart = ok(client.get(f"/api/v1/carts/{token}"))
    problems = {ln["sku"]: ln["problem"] for ln in cart["lines"]}
    assert problems["A1"]["code"] == "reservation_lapsed"
    assert problems["B2"]["code"] == "out_of_stock"
    assert problems["B2"]["available_here"] == 0
    assert "none can be reserved now" in problems["B2"]["detail"]

    cart = ok(client.post(f"/api/v1/carts/{token}/refresh"))
    lines = {ln["sku"]: ln for ln in cart["lines"]}
    assert lines["A1"]["problem"] is None
    assert lines["A1"]["hold_expires_at"].startswith("2026-11-02T09:31")
    assert lines["B2"]["hold_id"] is None
    assert lines["B2"]["problem"]["code"] == "out_of_stock"
    assert stock(client, "A1", "DC1") == (2, 2, 0, 0)
    assert stock(client, "B2", "DC1") == (1, 1, 0, 0)
    assert_verified(client)


def test_a_merged_profiles_id_opens_and_attaches_the_surviving_profiles_cart(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    survivor, alias = make_customer(container), make_customer(container)
    merge = {"survivor_id": survivor, "merged_id": alias, "reason": "same person"}
    assert client.post("/api/v1/customers/merges", json=merge).status_code == 201
    mine = new_cart(client, "WEB", survivor)

    by_alias = client.post("/api/v1/carts", json={"channel": "WEB", "customer_id": alias})

    assert by_alias.status_code == 201, by_alias.text
    assert (by_alias.json()["token"], by_alias.json()["customer_id"]) == (mine, survivor)
    anonymous = new_cart(client, "WEB")
    ok(add(client, anonymous, "A1", 1))
    attached = ok(client.post(f"/api/v1/carts/{anonymous}/attach", json={"customer_id": alias}))
    assert (attached["token"], attached["customer_id"]) == (mine, survivor)
    assert [(ln["sku"], ln["quantity"]) for ln in attached["lines"]] == [("A1", 1)]


def test_login_merges_the_anonymous_cart_into_the_customers_cart(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    receive(container, "B2", "DC1", 10)
    customer = make_customer(container)
    mine = new_cart(client, "WEB", customer)
    ok(add(client, mine, "A1", 1))

    anonymous = new_cart(client, "WEB")
    ok(add(client, anonymous, "A1", 2))
    ok(add(client, anonymous, "B2", 1))
    merged = ok(client.post(f"/api/v1/carts/{anonymous}/attach", json={"customer_id": customer}))
    assert merged["token"] == mine
    assert sorted((ln["sku"], ln["quantity"]) for ln in merged["lines"]) == [("A1", 3), ("B2", 1)]
    closed = ok(client.get(f"/api/v1/carts/{anonymous}"))
    assert (closed["status"], closed["merged_into"]) == ("merged", merged["id"])
    assert stock(client, "A1", "DC1") == (10, 3, 0, 0)
    assert stock(client, "B2", "DC1") == (10, 1, 0, 0)
    refused = add(client, anonymous, "A1", 1)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/cart-not-active")
    assert "cart_merged" in order_events(container)
    assert_verified(client)

    fresh = new_cart(client, "WEB")
    unknown = client.post(f"/api/v1/carts/{fresh}/attach", json={"customer_id": 999})
    assert unknown.status_code == 404
    assert unknown.json()["field"] == "customer_id"


CHECKOUT = {
    "fulfilment": {"method": "ship_to_home", "latitude": 51.545, "longitude": -0.15},
    "payment": {"provider_token": "tok_visa"},
    "contact_email": "shopper@example.com",
}


def test_the_cart_writes_bound_their_headers_replay_a_key_and_document_both(container, client):
    """Creating a cart, adding a line and checking out read the use case's headers themselves
    (hot routes):
    the same 422s as every write route, a retried Idempotency-Key gets the first answer
    without a second cart or hold, and the OpenAPI document still lists both headers."""
    make_orders_network(container)
    receive(container, "A1", "LON1", 5)
    token = new_cart(client)
    for headers, field in (
        ({"x-omniretail-actor": "a" * 121}, "x-omniretail-actor"),
        ({"Idempotency-Key": ""}, "Idempotency-Key"),
        ({"Idempotency-Key": "k" * 201}, "Idempotency-Key"),
    ):
        for path, body in (
            ("/api/v1/carts", {"channel": "WEB"}),
            (f"/api/v1/carts/{token}/lines", {"sku": "A1", "quantity": 1}),
            (f"/api/v1/carts/{token}/checkout", CHECKOUT),
        ):
            r = client.post(path, json=body, headers=headers)
            assert (r.status_code, r.json()["field"]) == (422, field), r.text
    assert stock(client, "A1", "LON1")[1] == 0  # nothing was held by the refusals

    first = client.post("/api/v1/carts", json={"channel": "WEB"}, headers={"Idempotency-Key": "c"})
    again = client.post("/api/v1/carts", json={"channel": "WEB"}, headers={"Idempotency-Key": "c"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["token"] == first.json()["token"]
    line = {"sku": "A1", "quantity": 2}
    headers = {"Idempotency-Key": "l"}
    added = client.post(f"/api/v1/carts/{token}/lines", json=line, headers=headers)
    replayed = client.post(f"/api/v1/carts/{token}/lines", json=line, headers=headers)
    assert (added.status_code, replayed.status_code) == (200, 200)
    assert replayed.json() == added.json()
    assert stock(client, "A1", "LON1")[1] == 2  # held once

    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/carts", "/api/v1/carts/{token}/lines", "/api/v1/carts/{token}/checkout"):
        names = {p["name"] for p in paths[path]["post"]["parameters"]}
        assert {"Idempotency-Key", "x-omniretail-actor"} <= names, path
        assert "requestBody" in paths[path]["post"]
    placed = client.post(f"/api/v1/carts/{token}/checkout", json=CHECKOUT)
    assert placed.status_code == 201, placed.text
    assert stock(client, "A1", "LON1")[1:3] == (0, 2)  # the held units now the order's
    assert_verified(client)
