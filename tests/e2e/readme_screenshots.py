"""The README's screenshots of the three audiences, from a demo database.

    .venv/bin/omniretail demo --no-serve --db sqlite:////tmp/demo/demo.db
    .venv/bin/python -m tests.e2e.readme_screenshots /tmp/demo/demo.db

Places one click & collect order for the demo customer at the associate's store (through
the services, made ready for pickup) so the store app has work to show, serves the console,
and writes small PNGs (palette-reduced) to ``docs/screenshots``: HQ (dashboard, inventory,
routing, message log) at 1280 px; the shop (search, checkout), the customer's account, the till
and the handover at 390 px. It changes the database (the customer's store, a basket, a till
sale in progress): point it at a copy.

The secret key is the one the demo used: ``secret.key`` beside the database when there is one
(``OMNIRETAIL_DATA_DIR=/tmp/demo omniretail demo``), else the default data directory's."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import expect, sync_playwright

from omniretail.app import create_app
from omniretail.bootstrap import Container, build_container
from omniretail.carts import service as carts
from omniretail.carts.schemas import CartCreate, CartLineAdd
from omniretail.catalog import service as catalog
from omniretail.customers import service as customers
from omniretail.customers.models import IdentityKind
from omniretail.demo.people import CUSTOMER_EMAIL, new_passwords, staff_store
from omniretail.fulfilment import service as fulfilment
from omniretail.inventory import service as inventory
from omniretail.kernel.vault import vault_for
from omniretail.orders import service as checkout
from omniretail.orders import service as lookup
from omniretail.orders.schemas import CheckoutCreate
from omniretail.orders.service import TestPaymentProvider
from omniretail.routing.service import policy_from
from omniretail.settings import Settings
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.server import serve_app

MAX_BYTES = 150_000
PASSWORDS: dict[str, str] = {}  # the demo's are random per install: fresh ones for this run


def _ready_pickup(container: Container, payments: TestPaymentProvider) -> tuple[str, str]:
    """The order number, and a SKU the associate's store has in stock."""
    vault = vault_for(container.keyring)
    with container.uow() as uow:
        customer_id = customers.find_customer(uow, IdentityKind.EMAIL, CUSTOMER_EMAIL, vault=vault)
        store = staff_store(uow, "associate") or catalog.list_locations(uow, "store")[0].code
        location = catalog.get_location(uow, store)
        channel = sorted(location.channel_codes)[0]
        level = next(
            s for s in inventory.list_stock_levels(uow, location=store, limit=50) if s.available > 2
        )
        cart = carts.create_cart(
            uow, CartCreate(channel=channel, customer_id=customer_id), actor="demo"
        )
        carts.add_line(
            uow, cart.token, CartLineAdd(sku=level.sku, quantity=2, location=store), actor="demo"
        )
        order = checkout.place_order(
            uow,
            cart.token,
            CheckoutCreate.model_validate(
                {
                    "fulfilment": {"method": "pickup_in_store", "pickup_location": store},
                    "payment": {"provider_token": "tok_visa"},
                    "contact_email": CUSTOMER_EMAIL,
                }
            ),
            payments=payments,
            policy=policy_from(container.settings),
            actor="demo",
        )
        fid = order.fulfilments[0].id
        for step in (fulfilment.accept, fulfilment.start_picking, fulfilment.pack):
            step(uow, fid, actor="demo")
        fulfilment.ready_for_pickup(uow, fid, policy=policy_from(container.settings), actor="demo")
    with container.read_uow() as uow:
        return lookup.get_order(uow, order.number).number, level.sku


def _save(page: Any, path: Path, *, full: bool = False) -> None:
    raw = page.screenshot(full_page=full)
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    for colours in (256, 128, 64):
        buffer = io.BytesIO()
        image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(
            buffer, format="PNG", optimize=True
        )
        if buffer.tell() <= MAX_BYTES:
            break
    path.write_bytes(buffer.getvalue())
    print(f"{path}: {path.stat().st_size // 1024} KB")


def _sign_in(page: Any, username: str) -> None:
    page.goto("/signin")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()


def _phone(browser: Any, url: str) -> Any:
    return browser.new_context(base_url=url, viewport={"width": 390, "height": 780}).new_page()


def _till(page: Any, sku: str) -> None:
    """A walk-in sale in progress: one item scanned, the loyalty customer found."""
    page.goto("/store/till")
    page.get_by_label("Barcode or SKU").fill(sku)
    page.get_by_label("Barcode or SKU").press("Enter")
    expect(page.locator("[data-total]")).to_be_visible()
    page.get_by_label("Look up by").select_option("email")
    page.get_by_label("Loyalty card, email or phone").fill(CUSTOMER_EMAIL)
    page.get_by_role("button", name="Find customer").click()
    expect(page.locator("[data-customer]")).to_be_visible()


def _shop(page: Any, out: Path) -> None:
    """The customer picks their store, searches, and reaches the checkout's options."""
    page.goto("/account/details?q=London")
    page.get_by_role("button", name="Choose Demo store London Oxford Street as my store").click()
    page.goto("/shop?q=heart+holder")
    expect(page.locator("#results li").first).to_be_visible()
    _save(page, out / "shop-search.png")
    page.goto("/shop/products/85123A")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to basket").click()
    page.goto("/shop/checkout")
    page.locator("fieldset.options").scroll_into_view_if_needed()
    _save(page, out / "shop-checkout.png")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=f"sqlite:///{args.db}")
    if (args.db.parent / "secret.key").exists():
        settings = settings.model_copy(update={"data_dir": args.db.parent})
    container = build_container(settings)
    payments = TestPaymentProvider()
    container.payments = payments
    number, sku = _ready_pickup(container, payments)
    container.relay().run_until_idle()  # the notifications, for the message log
    with container.uow() as uow:
        fresh = new_passwords(uow, vault=vault_for(container.keyring))
    PASSWORDS.update({username: password for _role, username, password in fresh})
    app = create_app(container, background_sweep=False)
    with serve_app(app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        desktop = browser.new_context(base_url=url, viewport={"width": 1280, "height": 800})
        page = desktop.new_page()
        _sign_in(page, "admin")
        expect(page.locator("#sales svg.chart")).to_be_visible(timeout=120_000)
        _save(page, args.out / "hq-dashboard.png")
        page.goto("/hq/inventory?kind=store&q=HEART")
        _save(page, args.out / "hq-inventory.png")
        page.goto("/hq/routing")
        page.get_by_label("SKU 1").fill("85123A")
        page.get_by_label("Deliver to latitude").fill("53.48")
        page.get_by_label("Longitude").fill("-2.24")
        page.get_by_role("button", name="Simulate").click()
        expect(page.locator("#decision-summary")).to_be_visible()
        _save(page, args.out / "hq-routing.png", full=True)
        page.goto("/hq/messages")
        _save(page, args.out / "hq-messages.png")
        page = _phone(browser, url)
        _sign_in(page, "associate")
        page.goto(f"/store/orders/{number}")
        _save(page, args.out / "store-handover.png")
        _till(page, sku)
        _save(page, args.out / "store-till.png", full=True)
        page = _phone(browser, url)
        _sign_in(page, CUSTOMER_EMAIL)
        _save(page, args.out / "customer-account.png")
        _shop(page, args.out)
        browser.close()
    container.dispose()


if __name__ == "__main__":
    main()
