"""The agent's desk in Chromium (1280 px): a service agent signs in, opens a conversation
from the queue, sees the customer's order with its tracking beside it, replies with a canned
reply (inserted by HTMX), refunds a line after confirming, and resolves the conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.orders import service as lookup
from omniretail.support import service as support
from omniretail.support.schemas import CannedReplyWrite, ChatStart, ConversationQuery
from tests.e2e.conftest import DESKTOP, PHONE, Site, new_page, shoot, sign_in
from tests.web.seed import ADMIN, PASSWORD, shipped_web_order


def _world(site: Site) -> tuple[str, int]:
    number = shipped_web_order(site.container, site.seeded.customer_id, site.payments, "A1", 1)
    with site.container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="desk-agent", role=Role.SERVICE_AGENT, password=PASSWORD)
        )
        support.put_canned(
            uow,
            "on-its-way",
            CannedReplyWrite(
                title="On its way",
                body="Hello {{ customer_name }}, order {{ order_number }} is on its way.",
            ),
        )
        started = support.start_chat(
            uow,
            ChatStart(message=f"Where is my order {number}? It is late.", order_number=number),
            customer_id=site.seeded.customer_id,
        )
        found = support.list_conversations(uow, ConversationQuery(limit=50))
    return number, next(c.id for c in found if c.reference == started.reference)


def test_an_agent_answers_refunds_and_resolves(browser: Any, site: Site, screenshots: Path) -> None:
    number, conversation_id = _world(site)
    page: Any = new_page(browser, site, DESKTOP)
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"{m.text} @ {m.location}") if m.type == "error" else None,
    )
    sign_in(page, "desk-agent")
    page.get_by_role("link", name="Desk", exact=True).click()
    expect(page.get_by_role("heading", name="Customer service desk")).to_be_visible()
    queue = page.get_by_role("region", name="Queue")
    queue.get_by_role("link", name=f"Where is my order {number}? It is late.").click()
    expect(page).to_have_url(f"{site.url}/hq/desk/conversations/{conversation_id}")

    order = page.get_by_role("article", name=f"Order {number}")
    expect(order).to_contain_text("Shipped")
    expect(order).to_contain_text("DPD")  # the carrier, live from the fulfilment
    shoot(page, screenshots, "desk-conversation-1280")

    page.get_by_label("Canned reply", exact=True).select_option(label="On its way")
    page.get_by_role("button", name="Insert").click()
    reply = page.get_by_label("Reply to the customer")
    expect(reply).to_have_value(f"Hello Ada Lovelace, order {number} is on its way.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_have_text("Reply sent.")
    expect(page.get_by_text(f"order {number} is on its way.", exact=False).first).to_be_visible()

    order = page.get_by_role("article", name=f"Order {number}")
    order.get_by_text("Refund line 1…").click()
    refund = order.get_by_role("form", name=f"Refund line 1 of {number}")
    refund.get_by_label("Came back at").select_option("LON1")
    refund.get_by_label("Refund reason").fill("arrived chipped")
    refund.get_by_role("button", name="Refund…").click()
    expect(page.get_by_role("heading", name="Refund a line?")).to_be_visible()
    shoot(page, screenshots, "desk-confirm-refund-1280")
    page.get_by_role("button", name="Confirm: refund a line").click()
    expect(page).to_have_url(
        f"{site.url}/hq/desk/conversations/{conversation_id}?notice="
        + "Refunded%3A%20order%20"
        + number
        + "%20has%2020.00%20refunded%20in%20all."
    )
    expect(page.get_by_role("status")).to_contain_text(f"Refunded: order {number}")

    status = page.get_by_role("form", name="Status")
    status.get_by_label("Status").select_option("resolved")
    status.get_by_role("button", name="Set status").click()
    expect(page.locator("#conv-status")).to_have_text("Resolved")
    shoot(page, screenshots, "desk-resolved-1280")

    page.get_by_role("link", name="← Queue").click()
    queue = page.get_by_role("region", name="Queue")
    link = queue.get_by_role("link", name=f"Where is my order {number}? It is late.")
    expect(link).to_have_count(0)  # the queue shows open conversations first
    page.get_by_label("Status", exact=True).select_option("resolved")  # HTMX redraws the list
    expect(link).to_be_visible()

    with site.container.read_uow() as uow:
        refunded = lookup.get_order(uow, number)
        conversation = support.get_conversation(uow, conversation_id)
        rows = [a.action for a in auth.list_audit(uow, area="support", limit=20)]
    assert refunded.lines[0].quantity_returned == 1
    assert str(refunded.payment.refunded) == "20.00"
    assert conversation.status == "resolved"
    assert "POST /support/desk/orders/{number}/refund-line" in rows
    assert "POST /support/conversations/{conversation_id}/replies" in rows
    assert not [e for e in errors if "Refused" in e or "Content Security" in e], errors
    page.context.close()


def test_the_desk_pages_fit_a_phone(browser: Any, site: Site) -> None:
    """At 390 px the queue, a conversation with its customer's orders, the customer's desk and
    the taxes page scroll their tables inside the page, never the page sideways."""
    number = shipped_web_order(site.container, site.seeded.customer_id, site.payments, "A1", 1)
    with site.container.uow() as uow:
        started = support.start_chat(
            uow,
            ChatStart(message=f"Has {number} left yet?", order_number=number),
            customer_id=site.seeded.customer_id,
        )
        found = support.list_conversations(uow, ConversationQuery(limit=50))
    conversation_id = next(c.id for c in found if c.reference == started.reference)
    page: Any = new_page(browser, site, PHONE)
    sign_in(page, ADMIN)
    for path in (
        "/hq/desk",
        f"/hq/desk/conversations/{conversation_id}",
        f"/hq/desk/customers/{site.seeded.customer_id}",
        "/hq/pricing/taxes",
    ):
        page.goto(site.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE, (path, width)
    page.context.close()
