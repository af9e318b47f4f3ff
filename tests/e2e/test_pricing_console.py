"""HQ pricing in a real browser: a promotion created on its page, tried on a cart beside the
editor (HTMX), paused so that the same cart costs the list price again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from omniretail.pricing import service as pricing
from tests.e2e.conftest import DESKTOP, Site, new_page, shoot, sign_in
from tests.web.seed import ADMIN


def test_create_a_promotion_try_it_and_pause_it(
    browser: Any, site: Site, screenshots: Path
) -> None:
    page: Any = new_page(browser, site, DESKTOP)
    sign_in(page, ADMIN)
    page.get_by_role("link", name="Pricing", exact=True).click()
    expect(page.get_by_role("heading", name="Price lists")).to_be_visible()
    page.get_by_role("link", name="Promotions").click()
    page.get_by_role("link", name="New promotion").click()
    page.locator("#f-code").fill("E2ESPRING")
    page.locator("#f-name").fill("Spring ten percent")
    page.get_by_label("Condition (CEL; empty: always)").fill('channel == "WEB"')
    page.locator("#f-effect_type").select_option("percent_off")
    page.locator("#f-percent_off-percent").fill("10")
    page.get_by_role("button", name="Save promotion").click()
    expect(page.get_by_role("status")).to_have_text("Promotion E2ESPRING saved.")
    expect(page.get_by_role("heading", name="Promotion E2ESPRING")).to_contain_text("in force")

    page.locator("#f-try-line0-sku").fill("A1")
    page.locator("#f-try-line0-quantity").fill("2")
    page.get_by_role("button", name="Price it").click()
    expect(page.locator("#quote-total")).to_have_text("£36.00")
    expect(page.locator("#quote")).to_contain_text("Spring ten percent")
    shoot(page, screenshots, "hq-promotion-1280")

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_have_text("Promotion E2ESPRING paused.")
    page.locator("#f-try-line0-sku").fill("A1")
    page.locator("#f-try-line0-quantity").fill("2")
    page.get_by_role("button", name="Price it").click()
    expect(page.locator("#quote-total")).to_have_text("£40.00")
    with site.container.read_uow() as uow:
        saved = pricing.get_promotion(uow, "E2ESPRING")
    assert saved.active is False and saved.effect == {"type": "percent_off", "percent": "10"}
    page.context.close()
