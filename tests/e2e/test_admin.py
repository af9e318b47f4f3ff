"""An admin creates a store associate, issues the one-time set-password code and hands it
over; the associate sets a password with it and signs in to the store app. At 1280 px (the
admin) and 390 px (the associate on a phone); the database says who exists and what was
audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from omniretail.auth.models import AuditEntry, Principal
from tests.e2e.conftest import DESKTOP, PHONE, Site, new_page, shoot, sign_in
from tests.web.seed import ADMIN

NEW_PASSWORD = "shelves-and-tills-2026"


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_an_admin_creates_an_associate_who_then_signs_in(
    browser: Any, site: Site, screenshots: Path, width: int
) -> None:
    username = f"camden-{width}"
    admin: Any = new_page(browser, site, width)
    sign_in(admin, ADMIN)
    admin.goto("/hq/admin")
    admin.get_by_role("link", name="Users and roles").click()
    form = admin.get_by_role("form", name="New user")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Role").select_option("store_associate")
    form.get_by_label("Store (for a store associate)").select_option("LON2")
    form.get_by_role("button", name="Create user").click()
    expect(admin.get_by_role("heading", name=username)).to_be_visible()
    expect(admin.get_by_role("status")).to_contain_text(f"Created {username}.")
    admin.get_by_role("button", name="Issue a set-password code").click()
    code = admin.locator("#reset-token").inner_text().strip()
    expect(admin.get_by_text("Hand it to")).to_be_visible()
    shoot(admin, screenshots, f"hq-new-associate-code-{width}")
    admin.context.close()

    associate: Any = new_page(browser, site, PHONE)
    associate.goto("/signin/set-password")
    associate.get_by_label("Code from your admin").fill(code)
    associate.locator("#f-new_password").fill(NEW_PASSWORD)
    associate.get_by_label("New password again").fill(NEW_PASSWORD)
    associate.get_by_role("button", name="Set the password").click()
    expect(associate.get_by_role("status")).to_contain_text("Your password is set")
    sign_in(associate, username, NEW_PASSWORD)
    expect(associate).to_have_url(f"{site.url}/store")
    expect(associate.locator(".who")).to_contain_text(f"{username} · LON2")
    shoot(associate, screenshots, f"store-new-associate-{width}")
    associate.context.close()

    with site.container.read_uow() as uow:
        row = uow.session.scalars(select(Principal).where(Principal.username == username)).one()
        assert (row.role, row.store_code, row.active) == ("store_associate", "LON2", True)
        assert row.password_hash and NEW_PASSWORD not in row.password_hash
        actions = [
            (a.actor, a.action)
            for a in uow.session.scalars(
                select(AuditEntry).where(AuditEntry.subject.contains(str(row.id)))
            )
        ]
    assert (f"admin:{ADMIN}", "POST /auth/principals/{principal_id}/password-reset") in actions
    assert (f"store_associate:{username}", "POST /auth/password-reset") in actions
