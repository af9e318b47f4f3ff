"""A customer on a phone (390 px): availability near them, their order tracked, points and
tier progress, consent changed, and the data export."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from omniretail.customers import service as customers
from omniretail.support import service as support
from omniretail.support.schemas import ConversationQuery
from tests.e2e.conftest import DESKTOP, PHONE, Site, new_page, shoot, sign_in
from tests.web.seed import CUSTOMER_EMAIL


def test_see_availability_near_you(browser: Any, site: Site, screenshots: Path) -> None:
    page: Any = new_page(browser, site, PHONE)
    page.goto("/shop/products/A1")
    expect(page.get_by_role("heading", name="Enamel mug")).to_be_visible()
    page.get_by_label("Stores near").select_option("LON1")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#near-summary")).to_have_text("In stock at 2 stores near you")
    expect(page.locator("strong", has_text="London Camden")).to_be_visible()
    shoot(page, screenshots, "customer-availability-390")
    page.context.close()


def test_track_an_order_from_the_account(browser: Any, site: Site, screenshots: Path) -> None:
    page: Any = new_page(browser, site, PHONE)
    sign_in(page, CUSTOMER_EMAIL)
    expect(page).to_have_url(f"{site.url}/account")
    expect(page.get_by_role("heading", name="Hello, Ada Lovelace")).to_be_visible()
    expect(page.locator("#points")).not_to_be_empty()
    expect(page.get_by_role("progressbar", name="Progress to the next tier")).to_be_visible()
    shoot(page, screenshots, "customer-account-390")
    page.get_by_role("link", name=f"Track order {site.seeded.home_order}").click()
    expect(page.get_by_role("heading", name=f"Order {site.seeded.home_order}")).to_be_visible()
    expect(page.get_by_role("heading", name="Ship to home: created")).to_be_visible()
    shoot(page, screenshots, "customer-tracking-390")
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    page.goto("/account")
    shoot(page, screenshots, "customer-account-1280")
    page.context.close()


def test_change_consent_and_request_the_data_export(
    browser: Any, site: Site, screenshots: Path
) -> None:
    page: Any = new_page(browser, site, PHONE)
    sign_in(page, CUSTOMER_EMAIL)
    page.get_by_role("link", name="Privacy").click()
    email = page.get_by_label("News and offers by email")
    expect(email).not_to_be_checked()
    email.check()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_role("status")).to_have_text("Your choices are saved.")
    expect(page.get_by_label("News and offers by email")).to_be_checked()
    shoot(page, screenshots, "customer-privacy-390")
    with site.container.read_uow() as uow:
        granted = {
            (c.purpose.value, c.channel.value): c.granted
            for c in customers.list_consents(uow, site.seeded.customer_id)
        }
    assert granted[("marketing", "email")] is True
    with page.expect_download() as download:
        page.get_by_role("button", name="Request my data export").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["customer_id"] == site.seeded.customer_id
    assert exported["loyalty"]["account"]["enrolled"] is True
    page.context.close()


def test_a_signed_in_customer_asks_the_chat_where_their_order_is(
    browser: Any, site: Site, screenshots: Path
) -> None:
    page: Any = new_page(browser, site, PHONE)
    sign_in(page, CUSTOMER_EMAIL)
    page.goto("/shop")
    page.get_by_role("button", name="Chat with us").click()
    expect(page.get_by_label("Your email (optional)")).to_be_hidden()
    page.get_by_label("Your message").fill("Where is my order?")
    page.get_by_role("button", name="Send", exact=True).click()
    answer = page.locator(".support-chat-theirs p").first
    expect(answer).to_contain_text("Track it any time: /track/")
    expect(answer).not_to_contain_text("sign in")
    track = answer.get_by_role("link")
    expect(track).to_have_attribute("href", re.compile(r"^/track/[A-Za-z0-9_-]+$"))
    shoot(page, screenshots, "customer-chat-390")
    track.click()
    expect(page.get_by_role("heading", name=re.compile(r"^Order "))).to_be_visible()
    with site.container.read_uow() as uow:
        chats = support.list_conversations(uow, ConversationQuery(channel="chat", limit=50))
    assert [c.customer_id for c in chats if c.subject == "Where is my order?"] == [
        site.seeded.customer_id
    ]
    page.context.close()
