"""The Content-Security-Policy breaks nothing in a real browser: no page, for any audience,
has a script or style the policy refuses (penetration test, finding 10)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, Site, new_page, sign_in
from tests.web.seed import ADMIN, ASSOCIATE, CUSTOMER_EMAIL


def refusals(page: Any) -> list[str]:
    seen: list[str] = []
    page.on(
        "console",
        lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return seen


def test_no_page_trips_the_content_security_policy(browser: Any, site: Site) -> None:
    pages = {
        ADMIN: ["/hq", "/hq/inventory", "/hq/routing", "/hq/customers", "/hq/loyalty", "/password"],
        ASSOCIATE: ["/store", "/store/find", "/store/returns", "/store/loyalty"],
        CUSTOMER_EMAIL: ["/account", "/account/privacy", "/shop", "/shop/products/A1"],
    }
    for who, urls in pages.items():
        page = new_page(browser, site, DESKTOP)
        seen = refusals(page)
        sign_in(page, who)
        for url in [*urls, f"/track/{site.seeded.tracking_token}"]:
            page.goto(url)
            page.wait_for_load_state("networkidle")
        assert seen == [], (who, seen)
        page.context.close()


def test_the_api_docs_render_with_no_other_host_and_no_refusal(browser: Any, site: Site) -> None:
    page = new_page(browser, site, DESKTOP)
    seen = refusals(page)
    elsewhere: list[str] = []

    def only_this_site(route: Any) -> None:
        if route.request.url.startswith(site.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_site)
    page.goto("/docs")
    # Swagger UI 5 reads the OpenAPI 3.1 document (150 operations) and lists them; on a busy
    # two-core runner that alone has taken over 45 s (load average 15), so this wait is long.
    # The tags come folded (docs-start.js): a tag opens to its operations.
    page.locator(".opblock-tag").first.wait_for(timeout=120_000)
    assert page.locator(".swagger-ui .title").first.inner_text().startswith("Omniretail")
    assert page.locator(".opblock").count() == 0
    page.locator(".opblock-tag", has_text="carts").first.click()
    page.locator(".opblock").first.wait_for(timeout=30_000)
    assert "/api/v1/carts" in page.locator(".opblock-summary-path").first.inner_text()
    assert seen == [] and elsewhere == [], (seen, elsewhere)
    page.context.close()


def test_an_htmx_swap_never_writes_a_style_attribute(browser: Any, site: Site) -> None:
    """htmx settles a swapped element by copying the attributes of ``attributesToSettle`` from
    the element it replaces; with ``style`` among them (htmx's default) an element whose style
    a script set through the CSSOM (allowed: Playwright's screenshots hide the caret so, as do
    password managers) makes htmx write a ``style`` attribute, which the policy refuses
    ("Applying inline style violates ..."). The pages' htmx-config settles no style."""
    page = new_page(browser, site, DESKTOP)
    seen = refusals(page)
    sign_in(page, ADMIN)
    page.goto("/hq/journeys/new")
    name = page.get_by_role("textbox", name="Name", exact=True)
    name.fill("Styled")
    name.evaluate(
        "e => { e.style.caretColor = 'transparent'; e.style.removeProperty('caret-color') }"
    )
    assert name.get_attribute("style") == ""  # what a screenshot leaves behind
    with page.expect_response(lambda r: r.url.endswith("/hq/journeys/new/edit")):
        page.get_by_role("button", name="Add a wait step", exact=True).click()
    expect(page.locator("#step-0")).to_be_visible()
    # no wait_for_function with a string: the page's policy refuses eval
    expect(page.locator(".htmx-settling, .htmx-swapping")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("Styled")
    assert seen == [], seen
    assert page.evaluate("htmx.config.attributesToSettle") == ["class", "width", "height"]
    page.context.close()
