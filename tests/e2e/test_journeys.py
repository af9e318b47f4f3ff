"""A marketer builds and launches a journey in Chromium: an abandoned-cart journey made in the
editor (each step added with HTMX), drawn, saved, published and seen live in the list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import MessageCreate
from tests.e2e.conftest import DESKTOP, Site, new_page, shoot, sign_in
from tests.web.seed import PASSWORD


def test_a_marketer_builds_and_launches_a_journey(
    browser: Any, site: Site, screenshots: Path
) -> None:
    with site.container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="e2e-marketer", role=Role.MARKETER, password=PASSWORD)
        )
        marketing.create_message(
            uow,
            MessageCreate(
                code="cart-reminder",
                name="Cart reminder",
                subject="Still thinking it over?",
                body="Your basket is waiting.",
            ),
        )
    page: Any = new_page(browser, site, DESKTOP)
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"{m.text} at {m.location}") if m.type == "error" else None,
    )
    sign_in(page, "e2e-marketer")
    page.get_by_role("link", name="Journeys", exact=True).click()
    expect(page.get_by_role("heading", name="Journeys", exact=True)).to_be_visible()
    page.get_by_role("link", name="New journey", exact=True).click()
    expect(page.get_by_role("heading", name="New journey", exact=True)).to_be_visible()

    page.get_by_role("textbox", name="Name", exact=True).fill("Cart rescue")
    page.get_by_role("textbox", name="Code", exact=True).fill("cart-rescue")
    page.get_by_role("combobox", name="Event", exact=True).fill("orders.cart_line_added")

    page.get_by_role("button", name="Add a wait step", exact=True).click()
    page.wait_for_load_state("networkidle")
    wait = page.locator("#step-0")
    expect(wait.get_by_role("spinbutton", name="Hours", exact=True)).to_have_value("1")
    page.get_by_role("button", name="Add a condition step", exact=True).click()
    page.wait_for_load_state("networkidle")
    condition = page.locator("#step-1")
    condition.get_by_role("textbox", name="If (a segment rule)", exact=True).fill("has_cart")
    page.get_by_role("button", name="Add a send step", exact=True).click()
    page.wait_for_load_state("networkidle")
    send = page.locator("#step-2")
    send.get_by_role("combobox", name="Message code", exact=True).fill("cart-reminder")
    expect(send.get_by_role("combobox", name="Channel", exact=True)).to_have_value("email")
    page.get_by_role("button", name="Add a exit step", exact=True).click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#step-3")).to_be_visible()
    condition.get_by_role("combobox", name="Otherwise go to", exact=True).fill("exit-1")
    page.get_by_role("textbox", name="Leaves when (events, comma separated)", exact=True).fill(
        "orders.order_confirmed"
    )
    # the fields typed so far survived each re-render
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("Cart rescue")

    # The drawing is swapped in by HTMX: wait for it (the page's load state is long reached),
    # so the screenshot shows the new drawing and nothing races the swap.
    with page.expect_response(lambda r: r.url.endswith("/hq/journeys/new/edit")):
        page.get_by_role("button", name="Update the drawing", exact=True).click()
    expect(page.locator(".htmx-request, .htmx-settling")).to_have_count(0)
    graph = page.locator("#journey-editor svg.journey")
    expect(graph).to_be_visible()
    expect(graph).to_contain_text("has_cart")
    expect(graph).to_contain_text("cart-reminder")
    shoot(page, screenshots, "hq-journey-editor-1280")

    page.get_by_role("button", name="Save draft", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Cart rescue is saved as a draft.")
    expect(page.get_by_role("heading", name="Cart rescue")).to_contain_text("Draft")
    page.get_by_role("button", name="Publish version 1", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Version 1 is live")
    expect(page.get_by_role("heading", name="Cart rescue")).to_contain_text("Live")

    page.get_by_role("link", name="Journeys", exact=True).first.click()
    row = page.locator("#journey-cart-rescue")
    expect(row).to_contain_text("Cart rescue")
    expect(row).to_contain_text("Live")
    expect(row).to_contain_text("v1")
    shoot(page, screenshots, "hq-journeys-1280")
    with site.container.read_uow() as uow:
        journey = marketing.get_journey(uow, "cart-rescue")
    assert (journey.status, journey.live_version) == ("live", 1)
    steps = journey.definition.steps
    assert [s.kind for s in steps] == ["wait", "condition", "send", "exit"]
    assert journey.definition.exit_on == ["orders.order_confirmed"]
    assert not [e for e in errors if "Refused" in e or "Content Security" in e], errors
    page.context.close()
