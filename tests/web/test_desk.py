"""The agent's desk in the console: the customer beside the conversation, and a refund with
confirmation that runs the desk's use case with the console's audit row."""

from __future__ import annotations

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.inventory import service as inventory
from omniretail.orders import service as lookup
from tests.orders.network import payment_instructions
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import PASSWORD, shipped_web_order


def _agent(container):
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="agent", role=Role.SERVICE_AGENT, password=PASSWORD)
        )


def _on_hand(container, sku, location):
    with container.read_uow() as uow:
        return inventory.get_stock_level(uow, sku, location).on_hand


def test_an_agent_refunds_a_line_from_the_desk_after_confirming(container, web, seeded, payments):
    _agent(container)
    number = shipped_web_order(container, seeded.customer_id, payments, "A1", 2)
    sign_in(web, "agent")
    url = f"/hq/desk/customers/{seeded.customer_id}"
    page = web.get(url)
    assert page.status_code == 200, page.text
    assert number in page.text and seeded.pickup_order in page.text
    assert "DPD" in page.text  # the carrier of the shipped order
    assert "Resend pickup code" in page.text  # the pickup order is waiting
    before = _on_hand(container, "A1", "LON1")
    form = {
        "csrf_token": csrf_of(page.text),
        "number": number,
        "line_no": "1",
        "quantity": "1",
        "location": "LON1",
        "condition": "sellable",
        "reason": "chipped on arrival",
    }
    confirm = web.post(f"{url}/refund-line", data=form)
    assert confirm.status_code == 200, confirm.text
    assert "Confirm: refund a line" in confirm.text
    assert _on_hand(container, "A1", "LON1") == before  # nothing yet
    done = web.post(f"{url}/refund-line", data={**form, "confirm": "yes"})
    assert done.status_code == 303, done.text
    assert "Refunded" in web.get(done.headers["location"]).text
    assert _on_hand(container, "A1", "LON1") == before + 1
    with container.read_uow() as uow:
        order = lookup.get_order(uow, number)
        [row] = auth.list_audit(uow, area="support", limit=5)
    assert order.lines[0].quantity_returned == 1
    assert str(order.payment.refunded) == "20.00"
    assert ("refund", "20.00") in payment_instructions(container)
    assert (row.actor, row.action) == (
        "service_agent:agent",
        "POST /support/desk/orders/{number}/refund-line",
    )


def test_a_store_associate_is_refused_the_desk_action(container, web, seeded, payments):
    number = shipped_web_order(container, seeded.customer_id, payments, "A1", 1)
    sign_in(web, "store-lon1")
    token = csrf_of(web.get("/store").text)
    refused = web.post(
        f"/hq/desk/customers/{seeded.customer_id}/refund-line",
        data={
            "csrf_token": token,
            "number": number,
            "line_no": "1",
            "location": "LON1",
            "reason": "chipped",
            "confirm": "yes",
        },
    )
    assert refused.status_code == 403
    assert "may not POST /support/desk/orders/{number}/refund-line" in refused.text
