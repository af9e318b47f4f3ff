"""The pages a newcomer found unclear, in a browser at 1280 px and 390 px: a return on the HQ
timeline, returned orders in the account, and the routing simulator's pickup choice; no page
scrolls sideways; the chat button covers nothing at the end of the account page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import ReturnCreate, ReturnLine
from omniretail.orders import service as lookup
from tests.e2e.conftest import DESKTOP, PHONE, Site, new_page, shoot, sign_in
from tests.web.seed import ADMIN, CUSTOMER_EMAIL, shipped_web_order

WIDE = "document.scrollingElement.scrollWidth > document.scrollingElement.clientWidth"


def _returned_order(site: Site) -> str:
    """A delivered web order of one Linen tote, returned at LON1."""
    number = shipped_web_order(site.container, site.seeded.customer_id, site.payments, "B2", 1)
    with site.container.uow() as uow:
        fulfilment.deliver(uow, lookup.get_order(uow, number).fulfilments[0].id, actor="e2e")
        fulfilment.return_items(
            uow,
            number,
            ReturnCreate(location="LON1", lines=[ReturnLine(line_no=1, quantity=1)]),
            window_days=30,
            actor="e2e",
        )
    site.container.relay().run_until_idle()
    return number


def test_returns_and_pickup_choices_read_plainly_on_desktop_and_phone(
    browser: Any, site: Site, screenshots: Path
) -> None:
    number = _returned_order(site)
    for width in (DESKTOP, PHONE):
        hq: Any = new_page(browser, site, width)
        sign_in(hq, ADMIN)
        hq.goto(f"/hq/customers/{site.seeded.customer_id}")
        entry = hq.locator("ol.timeline li", has_text="Return of order")
        expect(entry.get_by_role("link", name=number)).to_be_visible()
        expect(entry).to_contain_text("1 \N{MULTIPLICATION SIGN} Linen tote")
        assert not hq.evaluate(WIDE)
        shoot(hq, screenshots, f"hq-customer-return-{width}")
        hq.goto("/hq/routing")
        expect(hq.get_by_label("Pickup location")).to_contain_text("No pickup (home delivery)")
        assert not hq.evaluate(WIDE)
        hq.context.close()

        shop: Any = new_page(browser, site, width)
        sign_in(shop, CUSTOMER_EMAIL)
        shop.goto("/account")
        row = shop.locator(".order-list li", has_text=number)
        expect(row.locator(".badge")).to_have_text("Returned")
        assert not shop.evaluate(WIDE)
        row.get_by_role("link", name=number, exact=True).click()
        expect(shop.locator("#order-status")).to_have_text("Returned")
        assert not shop.evaluate(WIDE)
        shoot(shop, screenshots, f"shop-order-returned-{width}")
        shop.context.close()


# How far the page's content reaches under the chat button, scrolled to the bottom (px).
UNDER_CHAT = """() => {
  window.scrollTo(0, document.scrollingElement.scrollHeight);
  const button = document.querySelector(".support-chat-toggle").getBoundingClientRect();
  const main = document.querySelector("main");
  const content = main.lastElementChild.getBoundingClientRect();
  return Math.max(0, content.bottom - button.top);
}"""


def test_the_chat_button_covers_nothing_at_the_bottom_of_the_account_page(
    browser: Any, site: Site, screenshots: Path
) -> None:
    for _ in range(3):  # enough orders to fill a phone's screen
        shipped_web_order(site.container, site.seeded.customer_id, site.payments, "B2", 1)
    for width in (PHONE, DESKTOP):
        shop: Any = new_page(browser, site, width)
        sign_in(shop, CUSTOMER_EMAIL)
        shop.goto("/account")
        expect(shop.get_by_role("button", name="Chat with us")).to_be_visible()
        assert shop.evaluate(UNDER_CHAT) == 0
        shop.screenshot(path=str(screenshots / f"shop-account-chat-{width}.png"))
        shop.context.close()
