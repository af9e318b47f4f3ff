"""The customer's journey, at 390 and 1280 px: a visitor signs up and verifies the emailed
code, buys for click & collect at London Oxford St, the associate there hands over with the
pickup code, the customer starts a return of one item "in store" and an associate of London
Camden receives it by the return code and refunds. Each step asserts the database and the
messages sent."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.customers import service as customers
from omniretail.customers.schemas import IdentityKind
from omniretail.fulfilment import service as fulfilment
from omniretail.inventory import service as inventory
from omniretail.kernel.vault import vault_for
from omniretail.loyalty import service as loyalty
from omniretail.messaging.mail import RecordingMailer
from omniretail.orders import service as orders
from omniretail.routing.service import policy_from
from tests.e2e.conftest import DESKTOP, PHONE, Site, new_page, shoot, sign_in
from tests.web.seed import ASSOCIATE
from tests.web.seed import PASSWORD as STAFF_PASSWORD

PASSWORD = "difference engine 1822"
CAMDEN = "store-lon2"


def _camden_associate(site: Site) -> None:
    with site.container.uow() as uow:
        if auth.principal_by_username(uow, CAMDEN) is None:
            auth.create_principal(
                uow,
                PrincipalCreate(
                    username=CAMDEN,
                    role=Role.STORE_ASSOCIATE,
                    store_code="LON2",
                    password=STAFF_PASSWORD,
                ),
            )


def _sent(site: Site, mailer: RecordingMailer, email: str) -> list[str]:
    site.container.relay().run_until_idle()
    return [m.subject for m in mailer.sent if m.to == email]


def _mail(mailer: RecordingMailer, email: str, subject: str) -> str:
    return next(m.text for m in mailer.sent if m.to == email and m.subject.startswith(subject))


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_sign_up_buy_collect_and_return_in_another_store(
    browser: Any, site: Site, screenshots: Path, width: int
) -> None:
    email = f"ada.{width}@example.com"
    mailer = RecordingMailer()
    site.container.senders.mailer = mailer
    _camden_associate(site)

    # 1. Sign up and verify the emailed code.
    page: Any = new_page(browser, site, width)
    page.goto("/signup")
    page.get_by_label("Your name").fill("Ada Byron")
    page.get_by_label("Email address").fill(email)
    page.locator("#f-password").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    [subject] = _sent(site, mailer, email)
    assert "verification code" in subject
    code = re.search(r"\b(\d{6})\b", _mail(mailer, email, subject))
    assert code is not None
    page.get_by_label("Code from the email").fill(code.group(1))
    page.get_by_role("button", name="Verify my email").click()
    expect(page.get_by_role("heading", name="Hello, Ada Byron")).to_be_visible()
    vault = vault_for(site.container.keyring)
    with site.container.read_uow() as uow:
        customer_id = customers.find_customer(uow, IdentityKind.EMAIL, email, vault=vault)
    assert customer_id is not None

    # 2. Buy two mugs for click & collect at London Oxford St.
    page.get_by_role("link", name="Products").click()
    page.get_by_label("Search by name or code").fill("enamel mug")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Enamel mug").click()
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to basket").click()
    expect(page.get_by_role("status")).to_have_text("Added to your basket.")
    page.get_by_role("link", name="Checkout").click()
    page.get_by_role("radio", name=re.compile(r"Pickup in store at London Oxford St")).check()
    page.get_by_role("button", name="Place order and pay £40.00").click()
    heading = page.get_by_role("heading", name=re.compile(r"^Order OR-[0-9A-Z]+ is confirmed$"))
    expect(heading).to_be_visible()
    number = heading.inner_text().split()[1]
    with site.container.read_uow() as uow:
        order = orders.get_order(uow, number)
        camden_before = inventory.get_stock_level(uow, "A1", "LON2").on_hand
    assert order.customer_id == customer_id and order.total == Decimal("40.00")
    assert [(f.method.value, f.pickup_location) for f in order.fulfilments] == [
        ("pickup_in_store", "LON1")
    ]
    assert _sent(site, mailer, email)[1:] == [f"Order {number} confirmed"]
    with site.container.read_uow() as uow:
        earned = loyalty.account_status(uow, customer_id).pending
    assert earned > 0

    # The store prepares it (the steps before handover are not this journey's).
    [f] = order.fulfilments
    policy = policy_from(site.container.settings)
    for step in (fulfilment.accept, fulfilment.start_picking, fulfilment.pack):
        with site.container.uow() as uow:
            step(uow, f.id, actor="test")
    with site.container.uow() as uow:
        fulfilment.ready_for_pickup(uow, f.id, policy=policy, actor="test")
    assert _sent(site, mailer, email)[2:] == [
        f"Order {number} is ready for pickup at London Oxford St"
    ]
    pickup = re.search(r"\b(\d{6})\b", _mail(mailer, email, f"Order {number} is ready"))
    assert pickup is not None
    page.context.close()

    # 3. The associate of London Oxford St hands over with the pickup code.
    staff: Any = new_page(browser, site, width)
    sign_in(staff, ASSOCIATE, STAFF_PASSWORD)
    staff.goto(f"/store/orders/{number}")
    staff.get_by_label("Pickup code from the customer").fill(pickup.group(1))
    staff.get_by_role("button", name="Hand over").click()
    expect(staff.get_by_role("status")).to_have_text("Handed over. Thank you!")
    staff.context.close()
    with site.container.read_uow() as uow:
        collected = orders.get_order(uow, number)
    assert collected.status == "completed"
    assert [ln.returnable for ln in collected.lines] == [2]

    # 4. The customer starts a return of one mug, in store.
    page = new_page(browser, site, width)
    sign_in(page, email, PASSWORD)
    page.goto(f"/account/orders/{number}")
    page.get_by_role("link", name="Start a return").click()
    page.get_by_label("Units of Enamel mug to return").fill("1")
    page.get_by_label("Why are you returning it?").select_option("changed_mind")
    page.get_by_role("radio", name=re.compile("^In store")).check()
    shoot(page, screenshots, f"shop-return-start-{width}")
    page.get_by_role("button", name="Get my return code").click()
    expect(page.get_by_role("status")).to_have_text("Your return is registered.")
    return_code = page.locator("#return-code").inner_text().strip()
    assert re.fullmatch(r"R-[0-9A-Z]{4}-[0-9A-Z]{4}", return_code)
    expect(page.locator("#return-status")).to_have_text("Open")
    shoot(page, screenshots, f"shop-return-code-{width}")
    with site.container.read_uow() as uow:
        [requested] = fulfilment.return_requests_of_order(uow, number)
        untouched = orders.get_order(uow, number)
    assert (requested.code, requested.method, requested.status) == (return_code, "in_store", "open")
    assert [(ln.line_no, ln.quantity) for ln in requested.lines] == [(1, 1)]
    assert untouched.lines[0].quantity_returned == 0
    assert untouched.payment.refunded == Decimal("0.00")
    assert _sent(site, mailer, email)[3:] == [f"Your return code for order {number}: {return_code}"]
    assert "Bring the items to any of our stores" in _mail(mailer, email, "Your return code")
    page.context.close()

    # 5. An associate of London Camden receives it by the code and refunds.
    camden: Any = new_page(browser, site, width)
    sign_in(camden, CAMDEN, STAFF_PASSWORD)
    camden.get_by_role("link", name="Returns").click()
    camden.get_by_label("Order number, email or phone").fill(return_code.replace("-", " "))
    camden.get_by_role("button", name="Find orders").click()
    expect(camden.get_by_role("heading", name=f"Return {return_code}")).to_be_visible()
    expect(camden.get_by_label("Condition of Enamel mug")).to_have_value("sellable")
    shoot(camden, screenshots, f"associate-return-by-code-{width}")
    camden.get_by_role("button", name="Receive and refund £20.00").click()
    expect(camden.get_by_role("status")).to_have_text(
        "Received: refund £20.00 to the original payment. 1 restocked at LON2."
    )
    expect(camden.locator("#return-status")).to_have_text("Received")
    camden.context.close()

    with site.container.read_uow() as uow:
        done = orders.get_order(uow, number)
        [received] = fulfilment.return_requests_of_order(uow, number)
        camden_after = inventory.get_stock_level(uow, "A1", "LON2").on_hand
    assert (received.status, received.received_location) == ("received", "LON2")
    assert [(ln.quantity_returned, ln.returnable) for ln in done.lines] == [(1, 1)]
    assert camden_after == camden_before + 1
    assert done.payment.refunded == Decimal("20.00")
    assert _sent(site, mailer, email)[4:] == [f"Refund of £20.00 for order {number}"]
    assert "Reason: Changed my mind" in _mail(mailer, email, "Refund of")
    with site.container.read_uow() as uow:
        points = loyalty.account_status(uow, customer_id)
    assert points.pending == earned // 2  # the returned mug's points are clawed back
    assert [r.refunded for r in site.payments.authorisations.values()][-1] == Decimal("20.00")
