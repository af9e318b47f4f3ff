"""Delivery and pickup fees through the API, on both databases: set per channel and method,
shown in the cart once the method is chosen, waived by a free-delivery promotion named on
the fee, charged with their tax in the order's total and kept on the order."""

from __future__ import annotations

from sqlalchemy import text

from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive


def _fee(client, channel="WEB", method="ship_to_home", **body):
    payload = {"name": "Home delivery", "currency": "GBP", "amount": "3.95", **body}
    return client.put(f"/api/v1/pricing/fees/{channel}/{method}", json=payload)


def test_fees_are_data_per_channel_and_method(container, client):
    make_orders_network(container)
    saved = ok(_fee(client, free_over="50"))
    assert (saved["channel"], saved["method"], saved["amount"], saved["free_over"]) == (
        "WEB",
        "ship_to_home",
        "3.95",
        "50.00",
    )
    ok(_fee(client, method="curbside", name="Kerbside collection", amount="1.00"))
    listed = ok(client.get("/api/v1/pricing/fees", params={"channel": "WEB"}))
    assert [(f["method"], f["amount"], f["tax_class"]) for f in listed] == [
        ("curbside", "1.00", "standard"),
        ("ship_to_home", "3.95", "standard"),
    ]
    for refused, slug in (
        (_fee(client, currency="EUR"), "fee-currency-mismatch"),
        (_fee(client, amount="3.955"), "amount-too-precise"),
        (_fee(client, tax_class="luxury"), "unknown-tax-class"),
        (_fee(client, method="by_drone"), None),
        (_fee(client, channel="NOPE"), "unknown-channel"),
    ):
        assert refused.status_code in (404, 422), refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        if slug:
            assert refused.json()["type"].endswith("/" + slug), refused.json()
    assert client.delete("/api/v1/pricing/fees/WEB/curbside").status_code == 204
    assert client.get("/api/v1/pricing/fees/WEB/curbside").status_code == 404
    assert client.delete("/api/v1/pricing/fees/WEB/curbside").status_code == 404
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM fees")).scalar() == 1
        kinds = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT type FROM outbox WHERE type LIKE 'omniretail.pricing.fee%'"
                    " ORDER BY position"
                )
            )
        ]
    assert kinds == [
        "omniretail.pricing.fee_saved",
        "omniretail.pricing.fee_saved",
        "omniretail.pricing.fee_deleted",
    ]


def test_the_fee_is_in_the_cart_once_chosen_and_in_the_order(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    ok(_fee(client, free_over="50"))
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="DC1"))  # 20.00 with VAT

    browsing = ok(client.get(f"/api/v1/carts/{token}"))
    assert (browsing["total"], browsing["fee"]) == ("20.00", None)
    chosen = ok(client.get(f"/api/v1/carts/{token}", params={"method": "ship_to_home"}))
    fee = chosen["fee"]
    # 3.95 with VAT: 3.95 / 6 = 0.658 -> 0.66 tax
    assert (fee["name"], fee["net"], fee["tax"], fee["gross"]) == (
        "Home delivery",
        "3.29",
        "0.66",
        "3.95",
    )
    assert (chosen["total"], chosen["tax_total"], chosen["net_total"]) == ("23.95", "3.99", "19.96")
    quote = ok(
        client.post(
            "/api/v1/pricing/quote",
            json={
                "channel": "WEB",
                "lines": [{"sku": "A1", "quantity": 1}],
                "method": "ship_to_home",
            },
        )
    )
    assert (quote["gross"], quote["fee"]["gross"]) == ("23.95", "3.95")

    order = ok(checkout(client, token, key="fee-1"), 201)
    assert (order["total"], order["payment"]["authorised"]) == ("23.95", "23.95")
    assert order["fee"] == {
        "currency": "GBP",
        "method": "ship_to_home",
        "name": "Home delivery",
        "amount": "3.95",
        "adjustments": [],
        "tax_class": "standard",
        "tax_name": "VAT standard",
        "tax_rate": "0.2000",
        "net": "3.29",
        "tax": "0.66",
        "gross": "3.95",
    }
    again = ok(client.get(f"/api/v1/orders/{order['number']}"))
    assert (again["total"], again["fee"]["gross"]) == ("23.95", "3.95")


def test_free_delivery_waives_the_fee_with_the_promotions_name(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    ok(_fee(client))
    ok(_fee(client, method="pickup_in_store", name="Click & collect", amount="1.50"))
    promotion = {
        "name": "Free home delivery",
        "effect": {"type": "free_delivery", "methods": ["ship_to_home"]},
    }
    ok(client.put("/api/v1/pricing/promotions/FREESHIP", json=promotion))
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="DC1"))

    home = ok(client.get(f"/api/v1/carts/{token}", params={"method": "ship_to_home"}))
    assert home["fee"]["gross"] == "0.00"
    assert [(a["name"], a["amount"]) for a in home["fee"]["adjustments"]] == [
        ("Free home delivery", "-3.95")
    ]
    assert home["total"] == "20.00"
    # the promotion is for home delivery only: click & collect pays its 1.50
    collect = ok(client.get(f"/api/v1/carts/{token}", params={"method": "pickup_in_store"}))
    assert (collect["fee"]["gross"], collect["fee"]["adjustments"], collect["total"]) == (
        "1.50",
        [],
        "21.50",
    )
    order = ok(checkout(client, token, key="fee-2"), 201)
    assert order["total"] == "20.00"
    assert order["fee"]["gross"] == "0.00"
    assert order["fee"]["adjustments"] == [
        {
            "name": "Free home delivery",
            "amount": "-3.95",
            "source": "promotion:FREESHIP",
            "points": 0,
            "note": None,
        }
    ]
