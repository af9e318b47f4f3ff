"""The HQ message log in Chromium (390 and 1280 px): the seeded orders' emails, one opened,
its HTML drawn inside the sandboxed frame (the frame's page loads under its own policy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from omniretail.messaging.mail import RecordingMailer
from tests.e2e.conftest import DESKTOP, PHONE, Site, new_page, shoot, sign_in
from tests.web.seed import ADMIN, CUSTOMER_EMAIL


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_an_email_in_the_message_log(
    browser: Any, site: Site, screenshots: Path, width: int
) -> None:
    site.container.senders.mailer = RecordingMailer()
    site.container.relay().run_until_idle()
    page: Any = new_page(browser, site, width)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, ADMIN)
    page.goto("/hq/messages?channel=email")
    expect(page.get_by_role("heading", name="Messages")).to_be_visible()
    expect(page.locator("table")).to_contain_text(CUSTOMER_EMAIL)
    expect(page.locator("table")).to_contain_text("sent")
    shoot(page, screenshots, f"hq-messages-{width}")
    page.locator("tbody tr a[href^='/hq/messages/']").first.click()
    frame = page.frame_locator("iframe.email")
    number = page.locator("dt:has-text('Order') + dd").inner_text().strip()
    expect(frame.locator("body")).to_contain_text(number)
    expect(frame.locator("strong").first).to_be_visible()  # the HTML part, drawn
    assert not [e for e in errors if "Refused" in e or "frame" in e.lower()], errors
    shoot(page, screenshots, f"hq-message-{width}")
    page.context.close()
