"""Coupons with an owner (the programme's birthday and welcome codes): only the customer they
were issued to may use them, in the shop's basket, at the till (the customer the associate
identified) and through the cart API; another customer and an anonymous cart are refused as
if the code did not exist (404, the unknown code's words: a probe found the 409 an oracle),
and nothing is written; the account page lists
the customer's own codes only. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import text

from omniretail.bootstrap import Container
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import CouponRule
from tests.conftest import admin_api_key
from tests.customers.helpers import make_customer
from tests.web.conftest import post, sign_in
from tests.web.seed import ADMIN, ASSOCIATE, CUSTOMER_EMAIL, Seeded
from tests.web.test_shop_buying import _add, _cart
from tests.web.test_till import _number, _pay, _ring_up, _token


def _welcome_coupon(web: TestClient, container: Container, customer_id: int) -> str:
    """A 10 % welcome coupon issued to the customer by the loyalty programme's own path."""
    key = {"X-API-Key": admin_api_key(container)}
    promotion = {
        "name": "Welcome ten percent",
        "effect": {"type": "percent_off", "percent": "10"},
        "requires_coupon": True,
    }
    assert web.put("/api/v1/pricing/promotions/WELCOME10", json=promotion, headers=key).is_success
    with container.uow() as uow:
        granted = loyalty.grant_coupon(
            uow, customer_id, "welcome", "once", CouponRule(promotion="WELCOME10")
        )
    assert granted is not None
    return granted.code


def _coupon_row(container: Container, code: str) -> tuple[int | None, int]:
    with container.engine.connect() as conn:
        owner, uses = conn.execute(
            text("SELECT customer_id, uses FROM coupons WHERE code = :c"), {"c": code}
        ).one()
    return owner, uses


def _carts_with(container: Container, code: str) -> int:
    with container.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM carts WHERE coupon_codes LIKE :c"), {"c": f"%{code}%"}
            ).scalar_one()
        )


def test_the_owner_uses_their_coupon_in_the_shop_basket(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    code = _welcome_coupon(web, container, seeded.customer_id)
    assert _coupon_row(container, code) == (seeded.customer_id, 0)
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    assert _add(web, "A1", 2).status_code == 303

    applied = post(web, "/shop/basket", "/shop/basket/coupons", {"code": code.lower()})

    assert applied.status_code == 303, applied.text  # type: ignore[attr-defined]
    cart = _cart(container, seeded.customer_id)
    assert cart is not None and cart.coupons == [code]
    assert cart.total == Decimal("36.00")  # 2 x 20.00 less 10 %
    assert '<span id="basket-total">£36.00</span>' in web.get("/shop/basket").text


def test_another_customers_coupon_is_refused_in_the_shop_basket(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    other = make_customer(container, "Grace Hopper", email="grace@example.com", verified=True)
    code = _welcome_coupon(web, container, other)
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    assert _add(web, "A1", 2).status_code == 303

    refused = post(web, "/shop/basket", "/shop/basket/coupons", {"code": code})
    guessed = post(web, "/shop/basket", "/shop/basket/coupons", {"code": "GUESSED1"})

    assert refused.status_code == guessed.status_code == 404  # type: ignore[attr-defined]
    assert f"no coupon with code &#39;{code}&#39;" in refused.text  # type: ignore[attr-defined]
    assert "no coupon with code &#39;GUESSED1&#39;" in guessed.text  # type: ignore[attr-defined]
    assert "another customer" not in refused.text  # type: ignore[attr-defined]
    assert "Grace" not in refused.text  # type: ignore[attr-defined]
    cart = _cart(container, seeded.customer_id)
    assert cart is not None and cart.coupons == [] and cart.total == Decimal("40.00")
    assert _coupon_row(container, code) == (other, 0)


def test_the_cart_api_refuses_another_customer_and_an_anonymous_cart(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    key = {"X-API-Key": admin_api_key(container)}
    other = make_customer(container, "Grace Hopper")
    code = _welcome_coupon(web, container, other)

    def cart_for(customer_id: int | None) -> str:
        body = {"channel": "WEB", "customer_id": customer_id}
        made = web.post("/api/v1/carts", json=body, headers=key)
        assert made.status_code == 201, made.text
        token = str(made.json()["token"])
        line = {"sku": "A1", "quantity": 1, "location": "DC1"}
        assert web.post(f"/api/v1/carts/{token}/lines", json=line, headers=key).is_success
        return token

    for customer_id in (seeded.customer_id, None):
        token = cart_for(customer_id)
        refused = web.post(f"/api/v1/carts/{token}/coupons", json={"code": code}, headers=key)
        unknown = web.post(f"/api/v1/carts/{token}/coupons", json={"code": "NOSUCH"}, headers=key)
        assert (refused.status_code, unknown.status_code) == (404, 404)
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem == {
            k: v.replace("NOSUCH", code) if isinstance(v, str) else v
            for k, v in unknown.json().items()
        }
        assert problem["type"].rsplit("/", 1)[1] == "unknown-coupon"
        assert problem["detail"] == f"no coupon with code {code!r}"

    # the owner's own cart takes it: 20.00 less 10 %
    token = cart_for(other)
    applied = web.post(f"/api/v1/carts/{token}/coupons", json={"code": code}, headers=key)
    assert applied.status_code == 200, applied.text
    assert (applied.json()["coupons"], applied.json()["total"]) == ([code], "18.00")
    assert _carts_with(container, code) == 1


def test_the_owner_uses_their_coupon_at_the_till_and_a_walk_in_sale_cannot(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    code = _welcome_coupon(web, container, seeded.customer_id)
    sign_in(web, ASSOCIATE)

    # an anonymous walk-in sale: refused as an unknown code, nothing applied
    walk_in = _ring_up(web, ["A1"], customer=False)
    refused = post(
        web, walk_in, f"/store/till/{_token(walk_in)}/coupons", {"code": code, "customer": ""}
    )
    assert refused.status_code == 404  # type: ignore[attr-defined]
    assert f"no coupon with code &#39;{code}&#39;" in refused.text  # type: ignore[attr-defined]
    assert _carts_with(container, code) == 0

    # the customer the associate identified: priced with it, counted once at payment
    url = _ring_up(web, ["A1", "A1", "B2"], customer=True)
    customer = str(seeded.customer_id)
    applied = post(
        web, url, f"/store/till/{_token(url)}/coupons", {"code": code, "customer": customer}
    )
    assert applied.status_code == 303, applied.text  # type: ignore[attr-defined]
    page = web.get(url).text
    assert re.search(r"data-total>£67\.95<", page), page  # 75.50 less 10 % (7.55)
    # paid as a walk-in sale (the customer taken off): the checkout refuses the coupon
    walked = _pay(web, url, method="cash", tendered="80.00", customer="")
    assert walked.status_code == 422  # type: ignore[attr-defined]
    assert f"the coupon {code} belongs to another customer" in walked.text  # type: ignore[attr-defined]
    assert _coupon_row(container, code) == (seeded.customer_id, 0)
    paid = _pay(web, url, method="cash", tendered="70.00")
    assert paid.status_code == 303, paid.text  # type: ignore[attr-defined]
    assert "%C2%A32.05%20change" in paid.headers["location"]  # type: ignore[attr-defined]
    number = _number(paid)
    assert _coupon_row(container, code) == (seeded.customer_id, 1)
    with container.engine.connect() as conn:
        used_by = conn.execute(
            text("SELECT customer_id FROM coupon_redemptions WHERE order_number = :n"),
            {"n": number},
        ).scalar_one()
    assert used_by == seeded.customer_id


def test_the_account_page_lists_only_the_customers_own_coupons(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    mine = _welcome_coupon(web, container, seeded.customer_id)
    other = make_customer(container, "Grace Hopper")
    with container.uow() as uow:
        theirs = loyalty.grant_coupon(
            uow, other, "welcome", "once", CouponRule(promotion="WELCOME10")
        )
    assert theirs is not None
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"

    page = web.get("/account").text

    assert re.findall(r'<strong class="coupon-code">([^<]+)</strong>', page) == [mine]
    assert theirs.code not in page


def test_a_coupon_whose_description_names_its_offer_names_it_once(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    """The demo's welcome coupon: "Welcome: 10 % off your next order", not followed by
    "(Welcome: 10 % off)"; an offer the description does not name is still shown."""
    key = {"X-API-Key": admin_api_key(container)}
    for code, name in (("WELCOME", "Welcome: 10 % off"), ("BDAY", "Birthday treat")):
        body = {"name": name, "effect": {"type": "percent_off", "percent": "10"}}
        assert web.put(
            f"/api/v1/pricing/promotions/{code}",
            json={**body, "requires_coupon": True},
            headers=key,
        ).is_success
    with container.uow() as uow:
        for kind, code, description in (
            ("welcome", "WELCOME", "Welcome: 10 % off your next order"),
            ("birthday", "BDAY", "10 % off for your birthday"),
        ):
            rule = CouponRule(promotion=code, description=description)
            assert loyalty.grant_coupon(uow, seeded.customer_id, kind, "once", rule) is not None
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"

    page = web.get("/account").text

    assert " · Welcome: 10 % off your next order<br>" in page, page
    assert "(Welcome: 10 % off)" not in page
    assert " · 10 % off for your birthday (Birthday treat)<br>" in page


def test_a_yen_till_sale_speaks_yen(web: TestClient, container: Container, seeded: Seeded) -> None:
    """The till's cash and points messages in the currency of the sale and of the programme."""
    key = {"X-API-Key": admin_api_key(container)}
    pos = {
        "code": "POS",
        "name": "Store tills",
        "kind": "store_pos",
        "location_codes": ["LON1", "LON2", "MAN1"],
        "currency": "JPY",
        "country": "JP",
        "prices_include_tax": True,
    }
    assert web.put("/api/v1/channels/POS", json=pos, headers=key).is_success
    price_list = {"name": "Tills in yen", "currency": "JPY", "channel": "POS"}
    assert web.put("/api/v1/pricing/price-lists/POSJP", json=price_list, headers=key).is_success
    entry = {"price": "1234"}
    assert web.put(
        "/api/v1/pricing/price-lists/POSJP/entries/A1", json=entry, headers=key
    ).is_success
    programme = {"currency": "JPY", "point_value": "20", "welcome_points": 0}
    assert web.put("/api/v1/loyalty/programme", json=programme, headers=key).is_success
    sign_in(web, ASSOCIATE)
    url = _ring_up(web, ["A1"], customer=True)
    assert re.search(r"data-total>¥1,234<", web.get(url).text)

    points = _pay(web, url, method="cash", tendered="2000", points="100", confirm="yes")
    short = _pay(web, url, method="cash", tendered="1000")
    paid = _pay(web, url, method="cash", tendered="2000")

    assert points.status_code == 422  # type: ignore[attr-defined]
    assert (
        "100 points are worth ¥2,000, more than the ¥1,234 due" in points.text  # type: ignore[attr-defined]
    )
    assert short.status_code == 422  # type: ignore[attr-defined]
    assert "less than the ¥1,234 due" in short.text  # type: ignore[attr-defined]
    assert paid.status_code == 303, paid.text  # type: ignore[attr-defined]
    assert "%C2%A5766%20change" in paid.headers["location"]  # type: ignore[attr-defined]

    # the programme's form labels its amounts in the programme's currency
    web.cookies.clear()
    sign_in(web, ADMIN)
    form = web.get("/hq/loyalty").text
    assert "Points per ¥1 spent" in form and "Value of one point (¥)" in form
    assert "Spend from (¥)" in form and "£" not in form
