"""HQ on a desktop (1280 px): the dashboard with its charts, a stock adjustment seen in the
ledger (a refused one keeps what was typed), and a routing simulation beside the editor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from omniretail.inventory import service as inventory
from tests.e2e.conftest import DESKTOP, PHONE, Site, new_page, shoot, sign_in
from tests.web.seed import ADMIN


def test_dashboard_shows_the_charts(browser: Any, site: Site, screenshots: Path) -> None:
    page: Any = new_page(browser, site, DESKTOP)
    sign_in(page, ADMIN)
    expect(page).to_have_url(f"{site.url}/hq")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("svg.chart title", has_text="Orders by state")).to_have_count(1)
    expect(page.locator("svg.chart title", has_text="Stock records by health")).to_have_count(1)
    # The sales panel is computed as a job; HTMX polls its progress until the chart arrives.
    expect(page.locator("#sales svg.chart")).to_be_visible(timeout=30_000)
    expect(page.locator("#sales")).to_contain_text("computed in")
    shoot(page, screenshots, "hq-dashboard-1280")
    page.set_viewport_size({"width": PHONE, "height": 844})
    shoot(page, screenshots, "hq-dashboard-390")
    page.context.close()


def test_adjust_stock_and_see_it_in_the_ledger(browser: Any, site: Site, screenshots: Path) -> None:
    page: Any = new_page(browser, site, DESKTOP)
    sign_in(page, ADMIN)
    page.get_by_role("link", name="Inventory").click()
    page.get_by_label("SKU or name").fill("C3")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row", name="C3")).to_be_visible()
    shoot(page, screenshots, "hq-inventory-1280")
    page.get_by_role("link", name="C3 at DC1: 20 available, 20 on hand").click()
    expect(page.get_by_role("heading", name="C3 at DC1")).to_be_visible()
    # Refused by the service (more than is there): the message sits beside the field.
    page.get_by_label("Change in units (e.g. -2 or 5)").fill("-500")
    page.get_by_label("Reason").fill("damaged in the warehouse")
    page.get_by_role("button", name="Book adjustment").click()
    expect(page.locator("#f-quantity_delta-error")).to_contain_text("only 20 of C3 available")
    expect(page.get_by_label("Change in units (e.g. -2 or 5)")).to_have_value("-500")
    expect(page.get_by_label("Reason")).to_have_value("damaged in the warehouse")
    shoot(page, screenshots, "hq-adjust-refused-1280")
    page.get_by_label("Change in units (e.g. -2 or 5)").fill("-3")
    page.get_by_role("button", name="Book adjustment").click()
    expect(page.get_by_role("status")).to_have_text("Stock adjusted.")
    expect(page.locator('[data-counter="on_hand"]')).to_have_text("17")
    first = page.locator("#ledger tbody tr").first
    expect(first).to_contain_text("Adjustment")
    expect(first).to_contain_text("-3")
    expect(first).to_contain_text("damaged in the warehouse")
    expect(first).to_contain_text("admin:hq-admin")
    shoot(page, screenshots, "hq-ledger-1280")
    with site.container.read_uow() as uow:
        assert inventory.get_stock_level(uow, "C3", "DC1").on_hand == 17
    page.context.close()


def test_simulate_a_routing_rule_beside_the_editor(
    browser: Any, site: Site, screenshots: Path
) -> None:
    page: Any = new_page(browser, site, DESKTOP)
    sign_in(page, ADMIN)
    page.get_by_role("link", name="Routing").click()
    expect(page.get_by_label("Rules (JSON)")).to_contain_text('"filters"')
    page.get_by_label("SKU 1").fill("A1")
    page.get_by_label("Deliver to latitude").fill("51.545")
    page.get_by_label("Longitude").fill("-0.150")
    page.get_by_role("button", name="Simulate").click()
    decision = page.locator("#decision")
    expect(decision.get_by_role("heading", name="Decision placed")).to_be_visible()
    expect(decision.locator("#decision-summary")).not_to_be_empty()
    expect(decision.get_by_role("cell", name="LON2 store")).to_be_visible()
    # A draft that keeps only warehouses sends it from the DC instead, before it is saved.
    editor = page.get_by_label("Rules (JSON)")
    editor.fill(
        '{"filters": [{"rule": "location_kind", "kinds": ["warehouse"]}],'
        ' "sorts": [{"by": "distance"}]}'
    )
    page.get_by_label("Try the draft in the editor (unsaved)").check()
    page.get_by_role("button", name="Simulate").click()
    expect(decision.locator("#decision-summary")).to_contain_text("DC1")
    expect(decision).to_contain_text("Rules: draft")
    shoot(page, screenshots, "hq-routing-1280")
    editor.fill('{"filters": [{"rule": "distance"}]}')
    page.get_by_role("button", name="Simulate").click()
    expect(decision.get_by_role("alert")).to_contain_text("max_km")
    page.context.close()
