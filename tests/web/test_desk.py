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
from tests.web.seed import PASSWORD, add_staff, shipped_web_order


def _agent(container):
    add_staff(container, "agent", Role.SERVICE_AGENT)


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


def test_the_orders_poll_renders_only_the_orders_panel(container, web, seeded, payments):
    _agent(container)
    number = shipped_web_order(container, seeded.customer_id, payments, "A1", 1)
    sign_in(web, "agent")
    url = f"/hq/desk/customers/{seeded.customer_id}/orders"
    page = web.get(f"/hq/desk/customers/{seeded.customer_id}")
    assert f'hx-get="{url}"' in page.text  # the page polls the fragment, not itself
    panel = web.get(url, headers={"HX-Request": "true"})
    assert panel.status_code == 200, panel.text
    body = panel.text.strip()
    assert body.startswith('<section class="card" aria-labelledby="desk-o-h" id="desk-orders"')
    assert body.endswith("</section>") and body.count('id="desk-orders"') == 1
    assert number in body and seeded.pickup_order in body and "DPD" in body
    assert "Resend pickup code" in body  # the agent's actions come with it
    for elsewhere in ("<html", "<nav", "Customer 360", "Goodwill", "desk-points"):
        assert elsewhere not in body, elsewhere
    assert f'hx-get="{url}"' in body  # and it keeps polling itself
    assert 'name="back"' not in body


def test_the_orders_poll_keeps_the_conversation_to_return_to(container, web, seeded):
    _agent(container)
    sign_in(web, "agent")
    url = f"/hq/desk/customers/{seeded.customer_id}/orders"
    panel = web.get(url, params={"back": "/hq/desk/conversations/7"}).text
    assert 'name="back" value="/hq/desk/conversations/7"' in panel
    assert "?back=/hq/desk/conversations/7" in panel
    elsewhere = web.get(url, params={"back": "https://evil.example/hq/desk/"}).text
    assert "evil.example" not in elsewhere and 'name="back"' not in elsewhere


def test_the_orders_poll_is_refused_without_the_pages_permission(container, web, seeded):
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="mkt", role=Role.MARKETER, password=PASSWORD)
        )
    sign_in(web, "mkt")
    refused = web.get(f"/hq/desk/customers/{seeded.customer_id}/orders")
    assert refused.status_code == 403
    assert "may not GET /customers/{customer_id}/360" in refused.text
    assert seeded.pickup_order not in refused.text


def test_a_desk_form_acts_only_on_the_pages_customers_orders(container, web, seeded, payments):
    """The customer is the page's (its path), not the form's: an order or fulfilment of
    someone else posted on this customer's desk is refused and nothing changes."""
    from tests.customers.helpers import make_customer

    _agent(container)
    other = make_customer(container, "Other Person", email="other@example.com", verified=True)
    theirs = shipped_web_order(container, other, payments, "A1", 1)
    with container.read_uow() as uow:
        fid = lookup.get_order(uow, theirs).fulfilments[0].id
    sign_in(web, "agent")
    url = f"/hq/desk/customers/{seeded.customer_id}"
    token = csrf_of(web.get(url).text)
    refund = {
        "csrf_token": token,
        "number": theirs,
        "line_no": "1",
        "quantity": "1",
        "location": "LON1",
        "condition": "sellable",
        "reason": "chipped on arrival",
        "confirm": "yes",
    }

    refused = web.post(f"{url}/refund-line", data=refund)
    resend = web.post(
        f"{url}/resend-pickup-code", data={"csrf_token": token, "fid": fid, "confirm": "yes"}
    )

    assert refused.status_code == 422 and "not an order of this customer" in refused.text
    assert resend.status_code == 422 and "not an order of this customer" in resend.text
    with container.read_uow() as uow:
        assert lookup.get_order(uow, theirs).lines[0].quantity_returned == 0
        assert auth.list_audit(uow, area="support", limit=5) == []
