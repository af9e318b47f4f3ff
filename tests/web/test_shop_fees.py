"""A delivery fee in the shop: the checkout page shows each option's fee and the total with
it, the order charges it, the confirmation names it; a free-delivery promotion shows its name
on the option instead. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.orders import service as orders
from tests.conftest import admin_api_key
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import CUSTOMER_EMAIL, Seeded
from tests.web.test_shop_buying import ORDER_URL, _add, _cart


def _home_fee(web: TestClient, container: Container) -> dict[str, str]:
    key = {"X-API-Key": admin_api_key(container)}
    fee = {"name": "Home delivery", "currency": "GBP", "amount": "3.95", "free_over": "100"}
    assert web.put("/api/v1/pricing/fees/WEB/ship_to_home", json=fee, headers=key).is_success
    return key


def _place_home(web: TestClient, container: Container, seeded: Seeded, page: str) -> str:
    cart = _cart(container, seeded.customer_id)
    assert cart is not None
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
    return found.group(1)


def test_the_checkout_shows_the_delivery_fee_and_the_order_charges_it(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    _home_fee(web, container)
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    assert _add(web, "A1", 1).status_code == 303  # 20.00
    page = web.get("/shop/checkout").text
    assert '<span class="fee">Home delivery £3.95 · total £23.95</span>' in page
    assert page.count('class="fee"') == 1  # collection options have no fee
    number = _place_home(web, container, seeded, page)
    with container.read_uow() as uow:
        order = orders.get_order(uow, number)
    assert order.total == Decimal("23.95")
    assert order.fee is not None and (order.fee["gross"], order.fee["tax"]) == ("3.95", "0.66")
    confirmation = web.get(f"/shop/orders/{number}").text
    assert '<span id="order-total">£23.95</span>' in confirmation
    assert '<li id="order-fee">Home delivery · £3.95</li>' in confirmation


def test_a_free_delivery_promotion_is_named_on_the_option(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    key = _home_fee(web, container)
    promotion = {"name": "Free delivery weekend", "effect": {"type": "free_delivery"}}
    assert web.put("/api/v1/pricing/promotions/FREESHIP", json=promotion, headers=key).is_success
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    assert _add(web, "A1", 1).status_code == 303
    page = web.get("/shop/checkout").text
    assert (
        '<span class="fee">Home delivery £0.00 (Free delivery weekend) · total £20.00</span>'
        in page
    )
    number = _place_home(web, container, seeded, page)
    with container.read_uow() as uow:
        order = orders.get_order(uow, number)
    assert order.total == Decimal("20.00")
    assert order.fee is not None
    assert [a["name"] for a in order.fee["adjustments"]] == ["Free delivery weekend"]
