"""The customer's shop: search, the basket (the API's cart), checkout for every fulfilment
option, one order per submitted form, and nothing decided by what the form claims."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from omniretail.bootstrap import Container
from omniretail.carts import service as carts
from omniretail.carts.errors import UnknownCart
from omniretail.carts.schemas import CartCreate, CartLineAdd, CartRead
from omniretail.catalog import service as catalog
from omniretail.catalog.models import LocationKind
from omniretail.catalog.schemas import Capabilities, LocationWrite, ProductCreate, SkuCreate
from omniretail.customers import service as customers
from omniretail.customers.schemas import CustomerCreate
from omniretail.inventory import service as inventory
from omniretail.kernel.vault import vault_for
from omniretail.messaging.mail import RecordingMailer
from omniretail.orders import service as orders
from omniretail.orders.models import Order
from omniretail.orders.service import TestPaymentProvider
from tests.conftest import admin_api_key
from tests.drain import drain
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.seed import ASSOCIATE, CUSTOMER_EMAIL, HOURS, Seeded

ORDER_URL = re.compile(r"^/shop/orders/(OR-[0-9A-Z]+)\?notice=")


def _cart(container: Container, customer_id: int) -> CartRead | None:
    with container.read_uow() as uow:
        try:
            return carts.find_active_cart(uow, customer_id, "WEB")
        except UnknownCart:
            return None


def _order_count(container: Container) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Order)) or 0)


def _add(web: TestClient, sku: str, quantity: Any, **extra: str) -> Any:
    return post(
        web,
        f"/shop/products/{sku}",
        "/shop/basket/add",
        {"sku": sku, "quantity": str(quantity), **extra},
    )


def _shopper(web: TestClient) -> TestClient:
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    return web


# --- browsing ---------------------------------------------------------------------------------


def test_search_by_words_of_the_name_in_any_order_and_page_through(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    with container.uow() as uow:
        catalog.create_product(
            uow,
            ProductCreate(
                code="LANTERNS",
                name="Lanterns",
                skus=[
                    SkuCreate(code=f"L{i:02d}", name=f"White metal lantern no {i}", price=5)
                    for i in range(30)
                ],
            ),
        )
    page = web.get("/shop", params={"q": "tote LINEN"})
    assert page.status_code == 200
    assert "Linen tote" in page.text and "Enamel mug" not in page.text
    assert "Linen tote" not in web.get("/shop", params={"q": "tote wool"}).text
    assert "No product matches" in web.get("/shop", params={"q": "%"}).text
    assert "Enamel mug" in web.get("/shop", params={"q": "a1"}).text  # a code still finds

    first = web.get("/shop", params={"q": "metal lantern"})
    assert first.text.count('href="/shop/products/L') == 24
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = web.get("/shop", params={"q": "metal lantern", "page": 2})
    assert second.text.count('href="/shop/products/L') == 6
    assert 'rel="next"' not in second.text and "L09" in second.text  # by name: "no 9" last
    assert web.get("/shop", params={"page": 0}).status_code == 422


def test_my_store_stock_and_promises_for_a_signed_in_customer(
    web: TestClient, seeded: Seeded
) -> None:
    anonymous = web.get("/shop/products/A1")
    assert 'href="/signin?next=/shop/products/A1"' in anonymous.text
    assert "Add to basket" not in anonymous.text
    _shopper(web)
    # LON1 holds 10 A1, 2 of them allocated to the seeded pickup order.
    assert "8 at my store" in web.get("/shop", params={"q": "mug"}).text
    page = web.get("/shop/products/A1")
    assert re.search(r"My store, London Oxford St: <span class=\"badge ok\">8 in stock", page.text)
    assert "Pickup in store at London Oxford St · by" in page.text
    assert "Add to basket" in page.text


def test_anonymous_visitors_are_sent_to_sign_in_to_buy(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    assert web.get("/shop/basket").headers["location"] == "/signin?next=%2Fshop%2Fbasket"
    assert web.get("/shop/checkout").headers["location"] == "/signin?next=%2Fshop%2Fcheckout"
    refused = web.post("/shop/basket/add", data={"sku": "A1", "quantity": "1"})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/signin")
    assert _cart(container, seeded.customer_id) is None


# --- the basket -----------------------------------------------------------------------------


def test_add_change_and_remove_on_the_cart_the_api_and_the_store_see(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    _shopper(web)
    added = _add(web, "A1", 2)
    assert added.status_code == 303
    assert added.headers["location"].startswith("/shop/basket?notice=Added")
    cart = _cart(container, seeded.customer_id)
    assert cart is not None and cart.channel == "WEB"
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in cart.lines] == [
        ("A1", 2, Decimal("20.00"))
    ]
    hold = cart.lines[0].hold_id
    assert hold is not None
    basket = web.get("/shop/basket").text
    assert '<span id="basket-total">£40.00</span>' in basket

    api = web.get(f"/api/v1/carts/{cart.token}", headers={"X-API-Key": admin_api_key(container)})
    assert api.status_code == 200
    assert api.json()["customer_id"] == seeded.customer_id
    assert [(ln["sku"], ln["quantity"]) for ln in api.json()["lines"]] == [("A1", 2)]
    with TestClient(web.app, follow_redirects=False) as store:
        sign_in(store, ASSOCIATE)
        assert "Enamel mug" in store.get(f"/store/carts/{cart.token}").text

    _add(web, "A1", 1)  # the same SKU again adds up
    changed = post(web, "/shop/basket", "/shop/basket/lines/A1", {"quantity": "5"})
    assert changed.status_code == 303
    cart = _cart(container, seeded.customer_id)
    assert cart is not None and [(ln.sku, ln.quantity) for ln in cart.lines] == [("A1", 5)]
    with container.read_uow() as uow:
        assert cart.lines[0].hold_id is not None
        assert inventory.get_hold(uow, cart.lines[0].hold_id).quantity == 5
        assert inventory.get_hold(uow, hold).status == "released"

    removed = post(web, "/shop/basket", "/shop/basket/lines/A1", {"remove": "1"})
    assert removed.headers["location"].startswith("/shop/basket?notice=Removed")
    cart = _cart(container, seeded.customer_id)
    assert cart is not None and cart.lines == []
    assert "Your basket is empty" in web.get("/shop/basket").text


def test_out_of_stock_says_how_many_can_be_had_and_changes_nothing(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    _shopper(web)
    refused = _add(web, "C3", 21)  # 20 at the DC, nowhere else
    assert refused.status_code == 409
    assert "Not enough in stock: only 20 can be bought right now" in refused.text
    assert _cart(container, seeded.customer_id) is None
    _add(web, "C3", 2)
    too_many = post(web, "/shop/basket", "/shop/basket/lines/C3", {"quantity": "25"})
    assert too_many.status_code == 409
    assert "C3: Not enough in stock: only 20 can be bought right now" in too_many.text
    cart = _cart(container, seeded.customer_id)
    assert cart is not None and [(ln.sku, ln.quantity) for ln in cart.lines] == [("C3", 2)]


def test_prices_customers_quantities_and_carts_from_the_form_are_not_trusted(
    web: TestClient, container: Container, seeded: Seeded, payments: TestPaymentProvider
) -> None:
    vault = vault_for(container.keyring)
    with container.uow() as uow:
        other = customers.create_customer(
            uow, CustomerCreate(name="Mallory"), vault=vault, actor="test"
        ).customer.id
        theirs = carts.create_cart(uow, CartCreate(channel="WEB", customer_id=other), actor="t")
        carts.add_line(uow, theirs.token, CartLineAdd(sku="B2", quantity=1), actor="t")
    _shopper(web)
    for bad in ("-1", "0", "1000", "two"):
        refused = _add(web, "A1", bad)
        assert refused.status_code == 422, bad
        assert 'aria-invalid="true"' in refused.text
    assert _cart(container, seeded.customer_id) is None

    _add(web, "A1", 1, price="0.01", unit_price="0.01", customer_id=str(other), channel="POS")
    cart = _cart(container, seeded.customer_id)
    assert cart is not None and cart.channel == "WEB"
    assert [(ln.sku, ln.unit_price) for ln in cart.lines] == [("A1", Decimal("20.00"))]
    with container.read_uow() as uow:
        assert carts.find_active_cart(uow, other, "WEB").lines[0].sku == "B2"

    page = web.get("/shop/checkout").text
    form = {
        "token": theirs.token,
        "version": str(theirs.version),
        "option": "pickup_in_store@LON1",
        "provider_token": "tok_visa",
        "csrf_token": csrf_of(page),
    }
    assert web.post("/shop/checkout", data=form).status_code == 403
    stale = web.post("/shop/checkout", data={**form, "token": cart.token, "version": "0"})
    assert stale.status_code == 409 and "Your basket changed" in stale.text
    assert _order_count(container) == 2  # the seeded two

    placed = web.post(
        "/shop/checkout",
        data={
            **form,
            "token": cart.token,
            "version": str(cart.version),
            "total": "0.01",
            "contact_email": "mallory@example.com",
            "customer_id": str(other),
            "channel": "POS",
        },
    )
    found = ORDER_URL.match(placed.headers["location"])
    assert found, placed.text
    with container.read_uow() as uow:
        order = orders.get_order(uow, found.group(1))
    assert (order.total, order.customer_id, order.contact_email, order.channel) == (
        Decimal("20.00"),
        seeded.customer_id,
        CUSTOMER_EMAIL,
        "WEB",
    )
    assert [a.amount for a in payments.by_token("tok_visa")][-1] == Decimal("20.00")
    assert web.get(f"/shop/orders/{order.number}").status_code == 200
    with TestClient(web.app, follow_redirects=False) as mallory_view:
        assert mallory_view.get(f"/shop/orders/{order.number}").status_code == 303  # sign in
    with container.read_uow() as uow:
        assert carts.find_active_cart(uow, other, "WEB").status == "active"


# --- checkout -------------------------------------------------------------------------------

CASES = [
    ("ship_to_home", "", "A1", "Ship to home", "Arrives by"),
    ("pickup_in_store", "LON1", "A1", "Pickup in store", "Ready by"),
    ("ship_to_store", "LON1", "C3", "Ship to store", "Ready by"),
    ("locker", "LOCK1", "A1", "Locker", "Ready by"),
    ("curbside", "LON1", "B2", "Curbside", "Ready by"),
]


def _locker_and_kerb(container: Container) -> None:
    """A locker near Oxford St, and kerbside bays at LON1."""
    with container.uow() as uow:
        lon1 = catalog.get_location(uow, "LON1")
        catalog.save_location(
            uow,
            LocationWrite(
                **{
                    **lon1.model_dump(include=set(LocationWrite.model_fields)),
                    "capabilities": lon1.capabilities.model_copy(update={"curbside": True}),
                }
            ),
        )
        catalog.save_location(
            uow,
            LocationWrite(
                code="LOCK1",
                name="King's Cross locker",
                kind=LocationKind.LOCKER,
                latitude=51.5308,
                longitude=-0.1238,
                address="King's Cross station",
                opening_hours=HOURS,
                capabilities=Capabilities(pickup=True),
            ),
        )


@pytest.mark.parametrize(("method", "where", "sku", "caption", "when"), CASES)
def test_checkout_with_each_fulfilment_option(
    web: TestClient,
    container: Container,
    seeded: Seeded,
    payments: TestPaymentProvider,
    method: str,
    where: str,
    sku: str,
    caption: str,
    when: str,
) -> None:
    _locker_and_kerb(container)
    mailer = RecordingMailer()
    container.senders.mailer = mailer
    drain(container)
    mailer.sent.clear()
    _shopper(web)
    _add(web, sku, 2)
    page = web.get("/shop/checkout")
    assert page.status_code == 200
    option = f'value="{method}@{where}"'
    assert option in page.text, f"{method} at {where or 'home'} not offered"
    block = page.text.split(option, 1)[1].split("</label>", 1)[0]
    assert caption in block and when in block
    cart = _cart(container, seeded.customer_id)
    assert cart is not None
    with container.read_uow() as uow:
        before = {
            loc: inventory.get_stock_level(uow, sku, loc).allocated
            for loc in ("DC1", "LON1", "LON2", "MAN1")
        }
    form = {
        "token": cart.token,
        "version": str(cart.version),
        "option": f"{method}@{where}",
        "line1": "1 Analytical Row",
        "city": "London",
        "postcode": "NW1 1AA",
        "provider_token": "tok_visa",
        "csrf_token": csrf_of(page.text),
    }
    placed = web.post("/shop/checkout", data=form)
    found = ORDER_URL.match(placed.headers.get("location", ""))
    assert found, placed.text
    number = found.group(1)

    with container.read_uow() as uow:
        order = orders.get_order(uow, number)
        after = {loc: inventory.get_stock_level(uow, sku, loc).allocated for loc in before}
        assert carts.get_cart(uow, cart.token).status == "checked_out"
    unit = {"A1": Decimal("20.00"), "B2": Decimal("35.50"), "C3": Decimal("15.00")}[sku]
    assert (order.customer_id, order.total, order.status) == (
        seeded.customer_id,
        unit * 2,
        "confirmed",
    )
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in order.lines] == [(sku, 2, unit)]
    [fulfilment] = order.fulfilments
    assert fulfilment.method.value == method
    assert fulfilment.pickup_location == (where or None)
    if method == "ship_to_home":
        assert order.delivery is not None
        assert order.delivery["address"]["postcode"] == "NW1 1AA"
    # The units are allocated to the order at the location that sends them.
    assert after[fulfilment.location] - before[fulfilment.location] == 2
    assert sum(after.values()) - sum(before.values()) == 2
    assert len([a for a in payments.authorisations.values() if a.amount == unit * 2]) >= 1

    confirmation = web.get(f"/shop/orders/{number}")
    assert f"Order {number} is confirmed" in confirmation.text
    # the payment in the shopper's words, not the provider's code ("Paid with test")
    assert "Paid by card" in confirmation.text and "Paid with" not in confirmation.text
    assert order.tracking_url is not None
    assert f'href="{order.tracking_url}"' in confirmation.text
    assert fulfilment.promised_date.strftime("%a %d %b %Y") in confirmation.text
    # Who emails the pickup code is said (it read "..., and will email your pickup code").
    code_sentence = "; we email your pickup code there when the order is ready."
    assert (code_sentence in confirmation.text) == (where != "")

    drain(container)
    [email] = [m for m in mailer.sent if number in m.subject]
    assert email.to == CUSTOMER_EMAIL
    link = container.settings.public_base_url.rstrip("/") + order.tracking_url
    assert link in email.text
    assert email.html is not None and f'href="{link}"' in email.html


def test_a_form_submitted_twice_places_one_order(
    web: TestClient, container: Container, seeded: Seeded, payments: TestPaymentProvider
) -> None:
    _shopper(web)
    _add(web, "B2", 1)
    page = web.get("/shop/checkout").text
    cart = _cart(container, seeded.customer_id)
    assert cart is not None
    form = {
        "token": cart.token,
        "version": str(cart.version),
        "option": "pickup_in_store@LON1",
        "provider_token": "tok_visa",
        "csrf_token": csrf_of(page),
    }
    orders_before, auths_before = _order_count(container), len(payments.authorisations)
    first = web.post("/shop/checkout", data=form)
    second = web.post("/shop/checkout", data=form)
    one, two = (ORDER_URL.match(r.headers["location"]) for r in (first, second))
    assert one and two and one.group(1) == two.group(1)
    assert "already%20placed" in second.headers["location"]
    assert _order_count(container) == orders_before + 1
    assert len(payments.authorisations) == auths_before + 1
    assert _cart(container, seeded.customer_id) is None  # the next add opens a new cart


def test_a_declined_card_keeps_the_basket_and_says_why(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    _shopper(web)
    _add(web, "A1", 1)
    page = web.get("/shop/checkout").text
    cart = _cart(container, seeded.customer_id)
    assert cart is not None
    declined = web.post(
        "/shop/checkout",
        data={
            "token": cart.token,
            "version": str(cart.version),
            "option": "pickup_in_store@LON1",
            "provider_token": "tok_decline",
            "csrf_token": csrf_of(page),
        },
    )
    assert declined.status_code == 402
    assert "card declined by the issuer" in declined.text
    assert _order_count(container) == 2
    again = _cart(container, seeded.customer_id)
    assert again is not None and again.token == cart.token and len(again.lines) == 1


def test_a_lapsed_hold_reads_as_the_customer_can_act_on_it(
    web: TestClient, container: Container, seeded: Seeded, clock: Any
) -> None:
    """The basket's lapsed reservation says what to do in the customer's words (not the API's
    "refresh the cart"), and Update does hold it again."""
    _shopper(web)
    assert _add(web, "A1", 1).status_code == 303
    clock.advance(minutes=16)  # past the web channel's 15-minute hold
    response = web.get("/shop/basket")
    lapsed = response.text
    assert response.status_code == 200, (response.status_code, response.headers)
    assert "No longer held for you, but still in stock: Update holds your basket again." in (lapsed)
    assert "refresh the cart" not in lapsed and "lapsed" not in lapsed
    updated: Any = post(web, "/shop/basket", "/shop/basket/lines/A1", {"quantity": "1"})
    assert updated.status_code == 303
    assert "No longer held for you" not in web.get("/shop/basket").text
