"""A yen order end to end (the issue's JPY journey): a channel selling in JPY in Japan with
prices entered with tax, a food item at the reduced 8 % and another at the standard 10 %,
home delivery for a fee; the cart, the order and its tax breakdown through the API, then the
console's and the shop's order pages, all in whole yen. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import StockChange
from tests.conftest import admin_api_key
from tests.web.conftest import sign_in
from tests.web.seed import ADMIN, CUSTOMER_EMAIL, Seeded


def _ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def _line(body: dict, sku: str) -> dict:
    return next(ln for ln in body["lines"] if ln["sku"] == sku)


def test_a_yen_order_with_two_tax_rates_and_a_delivery_fee(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    key = {"X-API-Key": admin_api_key(container)}
    channel = {
        "code": "JPWEB",
        "name": "Japan web shop",
        "kind": "web",
        "location_codes": ["DC1"],
        "currency": "JPY",
        "country": "JP",
        "prices_include_tax": True,
    }
    _ok(web.put("/api/v1/channels/JPWEB", json=channel, headers=key))
    tea = {"code": "TEA", "name": "Tea", "skus": [{"code": "F1", "name": "Sencha"}]}
    _ok(web.post("/api/v1/products", json=tea, headers=key), 201)
    _ok(
        web.put(
            "/api/v1/pricing/products/TEA/tax-class", json={"tax_class": "reduced"}, headers=key
        )
    )
    price_list = {"name": "Japan", "currency": "JPY", "channel": "JPWEB"}
    _ok(web.put("/api/v1/pricing/price-lists/JP", json=price_list, headers=key))
    for sku, price in (("A1", "1234"), ("F1", "1099")):
        _ok(
            web.put(
                f"/api/v1/pricing/price-lists/JP/entries/{sku}", json={"price": price}, headers=key
            )
        )
    fee = {"name": "Home delivery", "currency": "JPY", "amount": "550"}
    _ok(web.put("/api/v1/pricing/fees/JPWEB/ship_to_home", json=fee, headers=key))
    with container.uow() as uow:
        inventory.receive_stock(uow, StockChange(sku="F1", location="DC1", quantity=10), actor="t")

    cart = _ok(
        web.post(
            "/api/v1/carts",
            json={"channel": "JPWEB", "customer_id": seeded.customer_id},
            headers=key,
        ),
        201,
    )
    token = cart["token"]
    for sku, quantity in (("A1", 2), ("F1", 3)):
        body = {"sku": sku, "quantity": quantity, "location": "DC1"}
        _ok(web.post(f"/api/v1/carts/{token}/lines", json=body, headers=key))
    chosen = _ok(web.get(f"/api/v1/carts/{token}", params={"method": "ship_to_home"}, headers=key))
    # A1: 2 x 1,234 = 2,468 with 10 %: tax 2,468 x 10 / 110 = 224.36 -> 224
    # F1: 3 x 1,099 = 3,297 with 8 %: tax 3,297 x 8 / 108 = 244.22 -> 244
    # delivery 550 with 10 %: tax 50
    assert (chosen["currency"], chosen["total"], chosen["tax_total"], chosen["net_total"]) == (
        "JPY",
        "6315",
        "518",
        "5797",
    )

    checkout = {
        "fulfilment": {"method": "ship_to_home", "latitude": 51.53, "longitude": -0.12},
        "payment": {"provider_token": "tok_visa"},
        "contact_email": CUSTOMER_EMAIL,
    }
    order = _ok(web.post(f"/api/v1/carts/{token}/checkout", json=checkout, headers=key), 201)
    assert (order["currency"], order["total"], order["payment"]["authorised"]) == (
        "JPY",
        "6315",
        "6315",
    )
    a1, f1 = _line(order, "A1"), _line(order, "F1")
    assert (a1["unit_price"], a1["net"], a1["tax"], a1["pricing"]["tax_rate"]) == (
        "1234",
        "2244",
        "224",
        "0.1000",
    )
    assert (f1["unit_price"], f1["net"], f1["tax"], f1["pricing"]["tax_rate"]) == (
        "1099",
        "3053",
        "244",
        "0.0800",
    )
    fee_charged = order["fee"]
    assert (fee_charged["net"], fee_charged["tax"], fee_charged["gross"]) == ("500", "50", "550")
    assert (fee_charged["currency"], fee_charged["tax_rate"]) == ("JPY", "0.1000")
    number = order["number"]
    read = _ok(web.get(f"/api/v1/orders/{number}", headers=key))
    assert (read["total"], read["fee"]["gross"], _line(read, "F1")["tax"]) == ("6315", "550", "244")

    assert sign_in(web, ADMIN).startswith("/hq")
    console = web.get(f"/hq/orders/{number}").text
    assert '<dd id="order-total">¥6,315</dd>' in console
    assert '<dd id="order-fee">¥550 (tax ¥50)</dd>' in console
    assert "¥2,468" in console and "¥3,297" in console  # what each line was paid
    assert "authorised ¥6,315" in console
    assert not re.search(r"¥[\d,]+\.\d", console) and "£" not in console

    web.cookies.clear()
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    confirmation = web.get(f"/shop/orders/{number}").text
    assert '<span id="order-total">¥6,315</span>' in confirmation
    assert '<li id="order-fee">Home delivery · ¥550</li>' in confirmation
    assert "Enamel mug · ¥2,468" in confirmation
    account = web.get(f"/account/orders/{number}").text
    assert "<strong>¥6,315</strong>" in account
    assert '<li id="order-fee">Home delivery · ¥550</li>' in account  # as the confirmation
    assert "Enamel mug · ¥2,468" in account
    for page in (confirmation, account):
        assert not re.search(r"¥[\d,]+\.\d", page) and "£" not in page
