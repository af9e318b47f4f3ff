"""A visitor signs up on a phone (390 px), verifies the emailed code, chooses their store and
sees their (empty) orders and points; the account page is then shot at 1280 px too."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from omniretail.auth.models import Principal
from omniretail.customers import service as customers
from omniretail.customers.schemas import IdentityKind
from omniretail.kernel.vault import vault_for
from omniretail.messaging.mail import RecordingMailer
from tests.e2e.conftest import DESKTOP, PHONE, Site, new_page, shoot

EMAIL = "grace@example.com"
PASSWORD = "analytical engine 1843"


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_sign_up_verify_choose_a_store(
    browser: Any, site: Site, screenshots: Path, width: int
) -> None:
    email = EMAIL if width == PHONE else EMAIL.replace("grace", "grace.desk")
    mailer = RecordingMailer()
    site.container.senders.mailer = mailer
    page: Any = new_page(browser, site, width)
    page.goto("/signin")
    page.get_by_role("link", name="Create a customer account").click()
    page.get_by_label("Your name").fill("Grace Hopper")
    page.get_by_label("Email address").fill(email)
    page.locator("#f-password").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    shoot(page, screenshots, f"customer-sign-up-{width}")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    site.container.relay().run_until_idle()
    code = next(
        m.group(1)
        for mail in reversed(mailer.sent)
        if mail.to == email and (m := re.search(r"\b(\d{6})\b", mail.text))
    )
    page.get_by_label("Code from the email").fill(code)
    page.get_by_role("button", name="Verify my email").click()
    expect(page).to_have_url(re.compile(r"/account\?notice="))
    expect(page.get_by_role("heading", name="Hello, Grace Hopper")).to_be_visible()

    page.get_by_role("link", name="Address and store").first.click()
    page.get_by_label("Find a store by town or postcode").fill("Camden")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Choose London Camden as my store").click()
    expect(page.get_by_role("status")).to_have_text("London Camden is now your store.")
    expect(page.locator("#my-store")).to_contain_text("London Camden")
    shoot(page, screenshots, f"customer-my-store-{width}")

    page.goto("/account")
    expect(page.get_by_text("No orders yet.")).to_be_visible()
    expect(page.get_by_role("heading", name="Points and tier")).to_be_visible()
    expect(page.locator("#points")).not_to_be_empty()
    expect(page.locator("#my-store-line")).to_contain_text("London Camden")
    shoot(page, screenshots, f"customer-new-account-{width}")
    page.context.close()

    with site.container.read_uow() as uow:
        customer_id = customers.find_customer(
            uow, IdentityKind.EMAIL, email, vault=vault_for(site.container.keyring)
        )
        profile = customers.get_customer(uow, customer_id, vault=vault_for(site.container.keyring))
        principal = uow.session.scalars(
            select(Principal).where(Principal.customer_id == customer_id)
        ).one()
    assert profile.home_store == "LON2" and profile.name == "Grace Hopper"
    assert principal.active and principal.role == "customer"
    sent = [m for m in mailer.sent if m.to == email]
    assert len(sent) == 1 and "verification code" in sent[0].subject
