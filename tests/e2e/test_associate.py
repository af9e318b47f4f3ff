"""A store associate on a phone (390 px): today's pickups, handover with the pickup code,
an order looked up for a return, "find it elsewhere" ordered into the customer's cart, and
points redeemed at the till."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from omniretail.loyalty import service as loyalty
from omniretail.orders import lookup
from tests.e2e.conftest import DESKTOP, PHONE, Site, new_page, shoot, sign_in
from tests.web.seed import ASSOCIATE, CUSTOMER_EMAIL


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
    expect(page.get_by_role("button", name="Start return (coming soon)").first).to_be_disabled()
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
    expect(page.get_by_role("status")).to_contain_text("Redeemed 50 points")
    expect(page.locator("[data-points]")).to_have_text(str(before - 50))
    page.context.close()
