"""A store associate on a phone (390 px): today's pickups, handover with the pickup code,
an order bought on the web returned at the store (BORIS), "find it elsewhere" ordered into
the customer's cart, and points redeemed at the till."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from omniretail.inventory import availability
from omniretail.inventory import service as inventory
from omniretail.loyalty import service as loyalty
from omniretail.messaging.mail import RecordingMailer
from omniretail.orders import service as lookup
from tests.e2e.conftest import DESKTOP, PHONE, Site, new_page, presence_code_sent, shoot, sign_in
from tests.web.seed import ASSOCIATE, CUSTOMER_EMAIL, shipped_web_order


def test_pickup_handover_with_the_code(browser: Any, site: Site, screenshots: Path) -> None:
    page: Any = new_page(browser, site, PHONE)
    sign_in(page, ASSOCIATE)
    expect(page).to_have_url(f"{site.url}/store")
    expect(page.get_by_role("heading", name="London Oxford St")).to_be_visible()
    waiting = page.get_by_role("region", name="Waiting for pickup")
    expect(waiting.get_by_text(site.seeded.pickup_order)).to_be_visible()
    shoot(page, screenshots, "associate-today-390")
    waiting.get_by_role("link").filter(has_text=site.seeded.pickup_order).click()
    expect(page.get_by_role("heading", name=f"Order {site.seeded.pickup_order}")).to_be_visible()
    code = page.get_by_label("Pickup code from the customer")
    wrong = "000000" if site.seeded.pickup_code != "000000" else "111111"
    code.fill(wrong)
    page.get_by_role("button", name="Hand over").click()
    expect(page.locator("#f-pickup_code-error")).to_contain_text("the pickup code does not match")
    expect(page.get_by_label("Pickup code from the customer")).to_have_value(wrong)
    shoot(page, screenshots, "associate-wrong-code-390")
    page.get_by_label("Pickup code from the customer").fill(site.seeded.pickup_code)
    page.get_by_role("button", name="Hand over").click()
    expect(page.get_by_role("status")).to_have_text("Handed over. Thank you!")
    expect(page.get_by_text("Collected").first).to_be_visible()
    shoot(page, screenshots, "associate-handed-over-390")
    with site.container.read_uow() as uow:
        assert lookup.get_order(uow, site.seeded.pickup_order).status == "completed"
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    page.goto("/store")
    shoot(page, screenshots, "associate-today-1280")
    page.context.close()


def test_order_bought_anywhere_is_found_for_a_return(browser: Any, site: Site) -> None:
    page: Any = new_page(browser, site, PHONE)
    sign_in(page, ASSOCIATE)
    page.get_by_role("link", name="Returns").click()
    page.get_by_label("Look up by").select_option("email")
    page.get_by_label("Order number, email or phone").fill("nobody@example.com")
    page.get_by_role("button", name="Find orders").click()
    expect(page.locator("#f-value-error")).to_be_visible()
    expect(page.get_by_label("Order number, email or phone")).to_have_value("nobody@example.com")
    page.get_by_label("Order number, email or phone").fill(CUSTOMER_EMAIL)
    page.get_by_role("button", name="Find orders").click()
    expect(page.get_by_role("heading", name=site.seeded.home_order)).to_be_visible()
    page.context.close()


def test_web_order_returned_at_the_store_is_refunded_and_restocked(
    browser: Any, site: Site, screenshots: Path
) -> None:
    number = shipped_web_order(
        site.container, site.seeded.customer_id, site.payments, sku="B2", quantity=2
    )
    with site.container.read_uow() as uow:
        before = inventory.get_stock_level(uow, "B2", "LON1").on_hand
    page: Any = new_page(browser, site, PHONE)
    sign_in(page, ASSOCIATE)
    page.get_by_role("link", name="Returns").click()
    page.get_by_label("Look up by").select_option("number")
    page.get_by_label("Order number, email or phone").fill(number)
    page.get_by_role("button", name="Find orders").click()
    form = page.get_by_role("form", name=f"Return from {number}")
    form.get_by_label("Units of Linen tote to return").fill("1")
    form.get_by_label("Condition of Linen tote").select_option("sellable")
    form.get_by_label("Why are they coming back?").select_option("size_fit")
    shoot(page, screenshots, "associate-return-390")
    form.get_by_role("button", name="Start return").click()
    expect(page.get_by_role("alert")).to_contain_text("Refund £35.50 to the original payment?")
    expect(page.get_by_role("alert")).to_contain_text("Reason: Wrong size or fit")
    page.get_by_role("button", name="Confirm refund").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("refund £35.50")
    expect(status).to_contain_text("1 restocked at LON1")
    form = page.get_by_role("form", name=f"Return from {number}")
    expect(form.get_by_role("cell", name="1", exact=True)).to_be_visible()
    with site.container.read_uow() as uow:
        assert inventory.get_stock_level(uow, "B2", "LON1").on_hand == before + 1
        assert availability.verify(uow).ok
        order = lookup.get_order(uow, number)
    assert [(ln.sku, ln.quantity_returned) for ln in order.lines if ln.sku] == [("B2", 1)]
    page.context.close()


def test_find_it_elsewhere_and_order_into_the_customers_cart(
    browser: Any, site: Site, screenshots: Path
) -> None:
    page: Any = new_page(browser, site, PHONE)
    sign_in(page, ASSOCIATE)
    page.get_by_role("link", name="Find it").click()
    page.get_by_label("SKU").fill("C3")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="C3 · Soy candle")).to_be_visible()
    expect(page.get_by_role("cell", name="Midlands DC DC1")).to_be_visible()
    page.get_by_label("Units").fill("2")
    page.get_by_label("Customer's email, phone or card").fill(CUSTOMER_EMAIL)
    shoot(page, screenshots, "associate-find-it-390")
    page.get_by_role("button", name="Add to the customer's cart").click()
    expect(page.get_by_role("status")).to_have_text("Added to the customer's cart.")
    expect(page.get_by_text("£30.00").first).to_be_visible()
    page.get_by_role("button", name="Take payment and place order").click()
    expect(page.get_by_role("status")).to_contain_text("placed")
    number = page.get_by_role("status").inner_text().split()[1]
    with site.container.read_uow() as uow:
        order = lookup.get_order(uow, number)
    assert order.customer_id == site.seeded.customer_id
    assert [(f.method.value, f.location, f.pickup_location) for f in order.fulfilments] == [
        ("ship_to_store", "DC1", "LON1")
    ]
    page.context.close()


def test_loyalty_look_up_and_redemption(browser: Any, site: Site) -> None:
    mailer = RecordingMailer()
    site.container.senders.mailer = mailer
    page: Any = new_page(browser, site, PHONE)
    sign_in(page, ASSOCIATE)
    page.get_by_role("link", name="Loyalty").click()
    page.get_by_label("Email, phone or loyalty card").fill(CUSTOMER_EMAIL)
    page.get_by_role("button", name="Find account").click()
    with site.container.read_uow() as uow:
        before = loyalty.account_status(uow, site.seeded.customer_id).available
    expect(page.locator("[data-points]")).to_have_text(str(before))
    page.get_by_label("Points to redeem").fill(str(before + 1_000))
    page.get_by_role("button", name="Redeem").click()
    expect(page.locator("#f-points-error")).to_be_visible()
    page.get_by_label("Points to redeem").fill("50")
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_role("alert")).to_contain_text("from Ada Lovelace's account?")
    page.get_by_role("button", name="Confirm redemption").click()
    expect(page.locator("#f-presence_code-error")).to_be_visible()  # no code: nothing spent
    page.get_by_role("button", name="Send code to customer").click()
    expect(page.locator("[data-code-sent]")).to_contain_text("Code sent by email")
    page.get_by_label("Code the customer reads out").fill(presence_code_sent(site, mailer))
    page.get_by_role("button", name="Confirm redemption").click()
    expect(page.get_by_role("status")).to_contain_text("Redeemed 50 points")
    expect(page.locator("[data-points]")).to_have_text(str(before - 50))
    page.context.close()
