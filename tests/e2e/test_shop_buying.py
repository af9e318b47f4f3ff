"""A signed-in customer buys in the shop, on a phone (390 px) and a desktop (1280 px): search by
name, add to the basket, check out for click & collect at their store, see the confirmation."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from omniretail.orders import service as orders
from tests.e2e.conftest import DESKTOP, PHONE, Site, new_page, shoot, sign_in
from tests.web.seed import CUSTOMER_EMAIL


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_search_add_and_buy_click_and_collect(
    browser: Any, site: Site, screenshots: Path, width: int
) -> None:
    page: Any = new_page(browser, site, width)
    sign_in(page, CUSTOMER_EMAIL)
    expect(page).to_have_url(f"{site.url}/account")
    page.get_by_role("link", name="Products").click()
    page.get_by_label("Search by name or code").fill("enamel mug")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Enamel mug").click()
    expect(page.locator("#my-store")).to_contain_text("My store, London Oxford St")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to basket").click()
    expect(page.get_by_role("status")).to_have_text("Added to your basket.")
    expect(page.locator("#basket-total")).to_have_text("£40.00")
    shoot(page, screenshots, f"shop-basket-{width}")

    page.get_by_role("link", name="Checkout").click()
    collect = page.get_by_role("radio", name=re.compile(r"Pickup in store at London Oxford St"))
    collect.check()
    expect(page.locator("label.option", has=collect)).to_contain_text("Ready by")
    shoot(page, screenshots, f"shop-checkout-{width}")
    page.get_by_role("button", name="Place order and pay £40.00").click()

    heading = page.get_by_role("heading", name=re.compile(r"^Order OR-[0-9A-Z]+ is confirmed$"))
    expect(heading).to_be_visible()
    expect(page.get_by_role("link", name="Track this order")).to_be_visible()
    shoot(page, screenshots, f"shop-confirmation-{width}")
    number = heading.inner_text().split()[1]
    with site.container.read_uow() as uow:
        order = orders.get_order(uow, number)
    assert order.customer_id == site.seeded.customer_id
    assert order.total == Decimal("40.00")
    assert [(f.method.value, f.pickup_location) for f in order.fulfilments] == [
        ("pickup_in_store", "LON1")
    ]
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [("A1", 2)]
    page.context.close()
