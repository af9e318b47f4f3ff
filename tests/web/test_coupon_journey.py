"""The same basket with the same coupon costs the same at the till and on the web (the
issue's journey): an automatic bundle ("any 3 for £60") stacked with a coupon's 10 % off,
rung up by an associate at LON1's till and bought by the customer in the shop, both through
the consoles' forms; each order's total, lines and the coupon's two uses written out. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import text

from omniretail.bootstrap import Container
from omniretail.orders import service as orders
from tests.conftest import admin_api_key
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.seed import ASSOCIATE, CUSTOMER_EMAIL, Seeded
from tests.web.test_shop_buying import ORDER_URL, _add, _cart
from tests.web.test_till import _number, _pay, _ring_up, _token

# A1 2 x 20.00 + B2 35.50 = 75.50. The bundle (priority 10): 15.50 off, shared 40.00 : 35.50 in
# pence -> A1 8.21, B2 7.29 (31.79 and 28.21); then the coupon's 10 %: A1 3.18, B2 2.82.
EXPECTED = {"A1": Decimal("28.61"), "B2": Decimal("25.39")}
TOTAL = Decimal("54.00")


def _promotions(web: TestClient, container: Container) -> None:
    key = {"X-API-Key": admin_api_key(container)}
    bundle = {
        "name": "Any 3 for £60",
        "effect": {
            "type": "bundle",
            "components": [{"skus": ["A1", "B2", "C3"], "quantity": 3}],
            "price": "60",
        },
        "currency": "GBP",
        "priority": 10,
    }
    coupon_promotion = {
        "name": "Ten percent off",
        "effect": {"type": "percent_off", "percent": "10"},
        "requires_coupon": True,
    }
    for code, body in (("ANY3", bundle), ("TENOFF", coupon_promotion)):
        assert web.put(f"/api/v1/pricing/promotions/{code}", json=body, headers=key).is_success
    coupon = {"code": "SAVE10", "promotion": "TENOFF", "max_uses": 5}
    assert web.post("/api/v1/pricing/coupons", json=coupon, headers=key).status_code == 201


def _amounts(container: Container, number: str) -> tuple[Decimal, dict[str, Decimal]]:
    with container.read_uow() as uow:
        order = orders.get_order(uow, number)
    gross: dict[str, Decimal] = {}
    for ln in order.lines:
        assert ln.net is not None and ln.tax is not None and ln.sku is not None
        gross[ln.sku] = gross.get(ln.sku, Decimal(0)) + ln.net + ln.tax
        assert [a["name"] for a in (ln.pricing or {})["adjustments"]] == [
            "Any 3 for £60",
            "Ten percent off",
        ]
    return order.total, gross


def test_a_coupon_at_the_till_and_on_the_web_gives_the_same_total(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    _promotions(web, container)

    # the till: an associate rings up the basket and applies the coupon
    sign_in(web, ASSOCIATE)
    url = _ring_up(web, ["A1", "A1", "B2"], customer=False)
    applied = post(
        web, url, f"/store/till/{_token(url)}/coupons", {"code": "save10", "customer": ""}
    )
    assert applied.status_code == 303, applied.text  # type: ignore[attr-defined]
    sale = web.get(url).text
    assert re.search(r"data-total>£54\.00<", sale), sale
    paid = _pay(web, url, method="cash", tendered="60.00")
    assert paid.status_code == 303, paid.text  # type: ignore[attr-defined]
    till_number = _number(paid)
    assert _amounts(container, till_number) == (TOTAL, EXPECTED)

    # the web: the customer puts the same basket in the shop and uses the same code
    web.cookies.clear()
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    for sku, quantity in (("A1", 2), ("B2", 1)):
        assert _add(web, sku, quantity).status_code == 303
    applied = post(web, "/shop/basket", "/shop/basket/coupons", {"code": "SAVE10"})
    assert applied.status_code == 303, applied.text  # type: ignore[attr-defined]
    assert '<span id="basket-total">£54.00</span>' in web.get("/shop/basket").text
    cart = _cart(container, seeded.customer_id)
    assert cart is not None and cart.total == TOTAL
    page = web.get("/shop/checkout").text
    form = {
        "token": cart.token,
        "version": str(cart.version),
        "option": "ship_to_home@",
        "line1": "1 Analytical Row",
        "city": "London",
        "postcode": "NW1 1AA",
        "provider_token": "tok_visa",
        "csrf_token": csrf_of(page),
    }
    placed = web.post("/shop/checkout", data=form)
    found = ORDER_URL.match(placed.headers.get("location", ""))
    assert found, placed.text
    web_number = found.group(1)
    assert _amounts(container, web_number) == (TOTAL, EXPECTED)

    with container.engine.connect() as conn:
        uses, spent = conn.execute(
            text("SELECT uses, spent FROM coupons WHERE code = 'SAVE10'")
        ).one()
    assert (uses, Decimal(spent)) == (2, Decimal("12.00"))  # 6.00 off each sale
