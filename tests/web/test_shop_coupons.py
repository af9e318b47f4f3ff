"""A coupon in the shop's basket: the code prices the customer's cart on the server, each line
names the promotion ("why this price"), a wrong code says why and changes nothing, and the
coupon can be taken off again. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.messaging.mail import RecordingMailer
from tests.conftest import admin_api_key
from tests.drain import drain
from tests.web.conftest import post, sign_in
from tests.web.seed import CUSTOMER_EMAIL, Seeded
from tests.web.test_shop_buying import _add, _cart
from tests.web.test_shop_fees import _place_home


def _ten_percent_coupon(web: TestClient, container: Container) -> None:
    key = {"X-API-Key": admin_api_key(container)}
    promotion = {
        "name": "Ten percent off",
        "effect": {"type": "percent_off", "percent": "10"},
        "requires_coupon": True,
    }
    assert web.put("/api/v1/pricing/promotions/TENOFF", json=promotion, headers=key).is_success
    coupon = {"code": "SAVE10", "promotion": "TENOFF", "max_uses": 5}
    assert web.post("/api/v1/pricing/coupons", json=coupon, headers=key).status_code == 201


def test_a_coupon_prices_the_basket_names_the_promotion_and_comes_off_again(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    _ten_percent_coupon(web, container)
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    assert _add(web, "A1", 2).status_code == 303

    wrong = post(web, "/shop/basket", "/shop/basket/coupons", {"code": "NOPE1234"})
    assert wrong.status_code == 404
    assert "coupon" in wrong.text.lower()
    cart = _cart(container, seeded.customer_id)
    assert cart is not None and cart.coupons == [] and cart.total == Decimal("40.00")

    applied = post(web, "/shop/basket", "/shop/basket/coupons", {"code": "save10"})
    assert applied.status_code == 303, applied.text
    cart = _cart(container, seeded.customer_id)
    assert cart is not None and cart.coupons == ["SAVE10"]
    assert cart.total == Decimal("36.00")
    basket = web.get("/shop/basket").text
    assert "Ten percent off" in basket
    assert '<span id="basket-total">£36.00</span>' in basket

    removed = post(web, "/shop/basket", "/shop/basket/coupons", {"code": "SAVE10", "remove": "1"})
    assert removed.status_code == 303
    cart = _cart(container, seeded.customer_id)
    assert cart is not None and cart.coupons == [] and cart.total == Decimal("40.00")


def test_the_confirmation_shows_what_each_line_cost_after_the_coupon(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    """The lines of the confirmation, on the page and in the email, add up to its total: each
    shows what was paid for it."""
    mailer = RecordingMailer()
    container.senders.mailer = mailer
    _ten_percent_coupon(web, container)
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    assert _add(web, "A1", 2).status_code == 303  # 2 x 20.00
    applied = post(web, "/shop/basket", "/shop/basket/coupons", {"code": "SAVE10"})
    assert applied.status_code == 303, applied.text
    number = _place_home(web, container, seeded, web.get("/shop/checkout").text)

    confirmation = web.get(f"/shop/orders/{number}").text

    assert '<span id="order-total">£36.00</span>' in confirmation
    assert "· £36.00</li>" in confirmation
    assert "£40.00" not in confirmation
    drain(container)
    [email] = [m for m in mailer.sent if number in m.subject]
    assert "2 x Enamel mug  £36.00" in email.text, email.text
