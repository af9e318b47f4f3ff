"""Pricing through the API on both databases: price lists by priority and scope, a
scheduled change taking effect at its time (frozen clock), tax with prices including it (UK)
and without (Japan, in yen), the quote matching the cart, and orders keeping the breakdown."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive


def _iso(clock, **delta) -> str:
    return (clock.now() + timedelta(**delta)).isoformat()


def _price_list(client, code: str, **body) -> dict:
    return ok(client.put(f"/api/v1/pricing/price-lists/{code}", json=body))


def _entry(client, code: str, sku: str, price: str):
    return client.put(f"/api/v1/pricing/price-lists/{code}/entries/{sku}", json={"price": price})


def _line(cart: dict, sku: str) -> dict:
    return next(ln for ln in cart["lines"] if ln["sku"] == sku)


def test_a_scheduled_price_takes_effect_at_its_time_and_checkout_reprices(container, client, clock):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    _price_list(
        client,
        "winter",
        name="Winter sale",
        currency="GBP",
        priority=10,
        channel="WEB",
        valid_from=_iso(clock, hours=1),
        valid_to=_iso(clock, days=1),
    )
    ok(_entry(client, "WINTER", "A1", "15.00"))
    token = new_cart(client)
    ok(add(client, token, "A1", 2, location="DC1"))

    before = ok(client.get(f"/api/v1/carts/{token}"))
    line = _line(before, "A1")
    assert (line["unit_price"], line["price_list"], before["total"]) == ("20.00", "SKU", "40.00")

    clock.advance(hours=1)  # the sale starts: no job ran, the price is a query at now
    during = ok(client.get(f"/api/v1/carts/{token}"))
    line = _line(during, "A1")
    assert (line["unit_price"], line["price_list"], line["price_list_name"]) == (
        "15.00",
        "WINTER",
        "Winter sale",
    )
    assert (during["total"], during["net_total"], during["tax_total"]) == ("30.00", "25.00", "5.00")
    assert line["adjustments"] == []

    order = ok(checkout(client, token), 201)
    assert (order["currency"], order["total"]) == ("GBP", "30.00")
    placed = order["lines"][0]
    assert (placed["unit_price"], placed["net"], placed["tax"]) == ("15.00", "25.00", "5.00")
    assert placed["pricing"]["price_list"] == "WINTER"
    assert placed["pricing"]["tax_name"] == "VAT standard"
    with container.engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT l.net_amount, l.tax_amount, o.currency, o.total FROM order_lines l"
                " JOIN orders o ON o.id = l.order_id WHERE o.number = :n"
            ),
            {"n": order["number"]},
        ).one()
    assert (float(stored[0]), float(stored[1]), stored[2], float(stored[3])) == (
        25.0,
        5.0,
        "GBP",
        30.0,
    )

    clock.advance(days=1)  # the window closed: the catalog price again
    quote = ok(
        client.post(
            "/api/v1/pricing/quote",
            json={"channel": "WEB", "lines": [{"sku": "A1", "quantity": 1}]},
        )
    )
    assert (quote["lines"][0]["unit_price"], quote["lines"][0]["price_list"]) == ("20.00", "SKU")


def test_priority_then_the_most_specific_list_wins(container, client):
    make_orders_network(container)
    _price_list(client, "BASE", name="Everyone", currency="GBP", priority=0)
    ok(_entry(client, "BASE", "A1", "19.00"))
    ok(client.put("/api/v1/prices/A1/WEB", json={"price": "18.00"}))  # the channel's own list
    _price_list(
        client, "GOLD", name="Gold members", currency="GBP", channel="WEB", customer_tier="gold"
    )
    ok(_entry(client, "GOLD", "A1", "17.00"))
    _price_list(client, "LON1-TILL", name="Oxford St", currency="GBP", location="LON1")
    ok(_entry(client, "LON1-TILL", "A1", "16.50"))

    def unit(**context) -> tuple[str, str]:
        body = {"channel": "WEB", "lines": [{"sku": "A1", "quantity": 1}], **context}
        line = ok(client.post("/api/v1/pricing/quote", json=body))["lines"][0]
        return line["unit_price"], line["price_list"]

    # same priority: the channel's list (one scope) beats the list for everyone
    assert unit() == ("18.00", "CHANNEL:WEB")
    # channel and tier (two scopes) beat the channel alone
    assert unit(customer_tier="gold") == ("17.00", "GOLD")
    assert unit(customer_tier="silver") == ("18.00", "CHANNEL:WEB")
    assert unit(location="LON1") == ("18.00", "CHANNEL:WEB")  # one scope each: code order
    # a higher priority beats any specificity
    _price_list(client, "BASE", name="Everyone", currency="GBP", priority=5)
    assert unit(customer_tier="gold") == ("19.00", "BASE")
    # an inactive list is not in force; a list in another currency never applies
    _price_list(client, "BASE", name="Everyone", currency="GBP", priority=5, active=False)
    _price_list(client, "EUROS", name="Euros", currency="EUR", priority=99)
    ok(_entry(client, "EUROS", "A1", "21.00"))
    assert unit(customer_tier="gold") == ("17.00", "GOLD")
    # the old per-channel route still reads the channel's list
    assert [
        (p["sku"], p["channel"], p["price"])
        for p in ok(client.get("/api/v1/prices", params={"channel": "WEB"}))
    ] == [("A1", "WEB", "18.00")]
    lists = ok(client.get("/api/v1/pricing/price-lists"))
    assert [(pl["code"], pl["entries"]) for pl in lists][:2] == [("EUROS", 1), ("BASE", 1)]


def test_a_yen_channel_without_tax_in_its_prices(container, client):
    make_orders_network(container)
    ok(
        client.put(
            "/api/v1/channels/JPWEB",
            json={
                "code": "JPWEB",
                "name": "Japan web shop",
                "kind": "web",
                "location_codes": ["DC1"],
                "currency": "JPY",
                "country": "JP",
                "prices_include_tax": False,
            },
        )
    )
    ok(
        client.post(
            "/api/v1/products",
            json={"code": "P2", "name": "Tea", "skus": [{"code": "F1", "name": "Sencha"}]},
        ),
        201,
    )
    ok(client.put("/api/v1/pricing/products/P2/tax-class", json={"tax_class": "reduced"}))
    _price_list(client, "JP", name="Japan", currency="JPY", channel="JPWEB")
    refused = _entry(client, "JP", "A1", "1234.5")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/amount-too-precise")
    ok(_entry(client, "JP", "A1", "1234"))
    ok(_entry(client, "JP", "F1", "1999"))
    for sku in ("A1", "F1"):
        receive(container, sku, "DC1", 5)

    token = new_cart(client, "JPWEB")
    ok(add(client, token, "A1", 3, location="DC1"))
    cart = ok(add(client, token, "F1", 1, location="DC1"))
    assert (cart["currency"], cart["prices_include_tax"]) == ("JPY", False)
    a1, f1 = _line(cart, "A1"), _line(cart, "F1")
    # 3 x 1234 = 3702, 10 % = 370.2 -> 370; 1999 at 8 % = 159.92 -> 160; no minor unit
    assert (a1["unit_price"], a1["net"], a1["tax"], a1["line_total"]) == (
        "1234",
        "3702",
        "370",
        "4072",
    )
    assert (f1["tax_rate"], f1["net"], f1["tax"], f1["line_total"]) == (
        "0.0800",
        "1999",
        "160",
        "2159",
    )
    assert (cart["net_total"], cart["tax_total"], cart["total"]) == ("5701", "530", "6231")

    # the cart without a JPY list on the UK channel: the catalog's GBP price, VAT included
    uk = ok(client.get(f"/api/v1/carts/{token}", params={"channel": "WEB"}))
    assert (uk["currency"], _line(uk, "A1")["unit_price"], _line(uk, "F1")["problem"]["code"]) == (
        "GBP",
        "20.00",
        "no_price",
    )

    quote = ok(
        client.post(
            "/api/v1/pricing/quote",
            json={
                "channel": "JPWEB",
                "lines": [{"sku": "A1", "quantity": 3}, {"sku": "F1", "quantity": 1}],
            },
        )
    )
    assert (quote["currency"], quote["net"], quote["tax"], quote["gross"]) == (
        "JPY",
        "5701",
        "530",
        "6231",
    )

    order = ok(checkout(client, token), 201)
    assert (order["currency"], order["total"], order["payment"]["authorised"]) == (
        "JPY",
        "6231",
        "6231",
    )
    lines = {ln["sku"]: ln for ln in order["lines"]}
    assert (lines["A1"]["unit_price"], lines["A1"]["net"], lines["A1"]["tax"]) == (
        "1234",
        "3702",
        "370",
    )
    assert lines["F1"]["pricing"]["tax_class"] == "reduced"
    assert lines["F1"]["pricing"]["tax_rate"] == "0.0800"
    assert lines["F1"]["pricing"]["currency"] == "JPY"


def test_tax_rates_are_data_with_dates(container, client, clock):
    make_orders_network(container)
    rates = ok(client.get("/api/v1/pricing/tax-rates", params={"country": "GB"}))
    assert sorted((r["tax_class"], r["rate"]) for r in rates) == [
        ("reduced", "0.0500"),
        ("standard", "0.2000"),
        ("zero", "0.0000"),
    ]
    # a new standard rate from tomorrow: today's carts keep 20 %, tomorrow's pay 25 %
    ok(
        client.post(
            "/api/v1/pricing/tax-rates",
            json={
                "country": "GB",
                "tax_class": "standard",
                "name": "VAT standard (new)",
                "rate": "0.25",
                "valid_from": _iso(clock, days=1),
            },
        ),
        201,
    )
    body = {"channel": "WEB", "lines": [{"sku": "A1", "quantity": 2}]}
    today = ok(client.post("/api/v1/pricing/quote", json=body))
    assert (today["net"], today["tax"], today["gross"]) == ("33.33", "6.67", "40.00")
    tomorrow = ok(client.post("/api/v1/pricing/quote", json={**body, "at": _iso(clock, days=2)}))
    assert (tomorrow["net"], tomorrow["tax"], tomorrow["gross"]) == ("32.00", "8.00", "40.00")
    assert tomorrow["lines"][0]["tax_name"] == "VAT standard (new)"
    unknown = client.post(
        "/api/v1/pricing/tax-rates",
        json={
            "country": "GB",
            "tax_class": "luxury",
            "name": "x",
            "rate": "0.3",
            "valid_from": _iso(clock),
        },
    )
    assert unknown.status_code == 404
    assert unknown.json()["type"].endswith("/unknown-tax-class")
