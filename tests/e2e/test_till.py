"""A walk-in sale at the till with a loyalty customer, on a phone (390 px) and at a desk
(1280 px): the scanner types SKUs into the barcode field, the card's QR code finds the
customer, points pay part after the associate confirmed whose account it is, cash pays the
rest, and the receipt is emailed. Asserts the order, the ledger, the points and the message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from omniretail.customers import service as customers
from omniretail.customers.models import IdentityKind
from omniretail.customers.schemas import IdentityCreate
from omniretail.inventory import availability
from omniretail.inventory import service as inventory
from omniretail.kernel.vault import vault_for
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import AdjustmentCreate
from omniretail.messaging.mail import RecordingMailer
from omniretail.orders import service as lookup
from tests.drain import drain
from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    Site,
    new_page,
    presence_code_sent,
    shoot,
    sign_in,
)
from tests.web.seed import ASSOCIATE, CUSTOMER_EMAIL

CARD = "LC-7700123"


@pytest.fixture(scope="module")
def loyal(site: Site) -> Site:
    """Ada carries a loyalty card and has points to spend."""
    with site.container.uow() as uow:
        customers.add_identity(
            uow,
            site.seeded.customer_id,
            IdentityCreate(kind=IdentityKind.LOYALTY_CARD, value=CARD),
            vault=vault_for(site.container.keyring),
            actor="test",
        )
        loyalty.adjust_points(
            uow,
            site.seeded.customer_id,
            AdjustmentCreate(points=1_000, reason="welcome"),
            actor="test",
        )
    return site


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_a_walk_in_sale_with_a_loyalty_customer(
    browser: Any, loyal: Site, screenshots: Path, width: int
) -> None:
    site = loyal
    mailer = RecordingMailer()
    site.container.senders.mailer = mailer
    cid = site.seeded.customer_id
    with site.container.read_uow() as uow:
        on_hand = inventory.get_stock_level(uow, "A1", "LON1").on_hand
        points = loyalty.account_status(uow, cid).available
    page: Any = new_page(browser, site, width)
    sign_in(page, ASSOCIATE)
    page.get_by_role("link", name="Till").click()

    barcode = page.get_by_label("Barcode or SKU")
    expect(barcode).to_be_focused()
    for sku in ("A1", "A1", "B2"):  # a scanner types the code and presses Enter
        page.get_by_label("Barcode or SKU").press_sequentially(sku)
        page.keyboard.press("Enter")
        expect(page.get_by_label("Barcode or SKU")).to_be_focused()
    expect(page.get_by_label("Quantity of Enamel mug")).to_have_value("2")
    expect(page.locator("[data-total]")).to_have_text("£75.50")
    expect(page.get_by_label("Coupon code")).to_be_visible()

    page.get_by_label("Look up by").select_option("loyalty_card")
    page.get_by_label("Loyalty card, email or phone").fill(CARD)
    page.get_by_role("button", name="Find customer").click()
    expect(page.locator("[data-customer]")).to_have_text("Ada Lovelace")
    expect(page.locator("[data-points]")).to_have_text(f"{points:,}")

    page.get_by_label("Points to spend").fill("500")
    page.get_by_role("radio", name="Cash").check()
    page.get_by_label("Cash handed over").fill("80")
    page.get_by_label("Email the receipt to").fill(CUSTOMER_EMAIL)
    shoot(page, screenshots, f"till-sale-{width}")
    page.get_by_role("button", name="Take payment").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Redeem 500 points (£5.00) from Ada Lovelace's account?")
    expect(alert).to_contain_text(f"Their balance: {points:,} points")
    expect(alert).to_contain_text("Then cash pays £70.50")
    # the customer proves they are here: the code sent to them, read out at the till
    page.get_by_role("button", name="Send code to customer").click()
    expect(page.locator("[data-code-sent]")).to_contain_text("Code sent by email")
    page.get_by_label("Code the customer reads out").fill(presence_code_sent(site, mailer))
    page.get_by_role("button", name="Confirm and take payment").click()

    expect(page.get_by_role("status")).to_have_text("Paid. Give £9.50 change.")
    expect(page.get_by_role("heading", name="Receipt", exact=True)).to_be_visible()
    expect(page.locator("[data-change]")).to_have_text("£9.50")
    shoot(page, screenshots, f"till-receipt-{width}")
    number = page.url.split("?")[0].rsplit("/", 1)[-1]
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.get_by_role("heading", name="Receipt", exact=True)).to_be_visible()

    drain(site.container)
    with site.container.read_uow() as uow:
        order = lookup.get_order(uow, number)
        assert inventory.get_stock_level(uow, "A1", "LON1").on_hand == on_hand - 2
        assert availability.verify(uow).ok
        account = loyalty.account_status(uow, cid)
    assert (order.channel, order.customer_id, order.status) == ("POS", cid, "completed")
    assert order.payment.provider == "cash"
    assert account.available == points - 500
    assert account.pending > 0
    [receipt] = [e for e in mailer.sent if number in e.subject]
    assert receipt.to == CUSTOMER_EMAIL and "Loyalty points (500)" in receipt.text
    page.context.close()
