"""The agent's desk (``processes.desk``) through its API, signed in as a service agent: each
action goes through its domain's use case and leaves the audit row of the desk operation."""

from __future__ import annotations

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from tests.orders.network import (
    add,
    advance,
    checkout,
    event_data,
    ledger_kinds,
    make_orders_network,
    new_cart,
    ok,
    payment_instructions,
    receive,
    stock,
    waiting_code,
)

PASSWORD = "correct horse battery"
DESK = "/api/v1/support/desk"


def _people(container, client):
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="sam", role=Role.SERVICE_AGENT, password=PASSWORD)
        )
        auth.create_principal(
            uow,
            PrincipalCreate(
                username="asha", role=Role.STORE_ASSOCIATE, password=PASSWORD, store_code="LON1"
            ),
        )

    def token(name):
        r = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return token("sam"), token("asha")


def _audit(container, action):
    with container.read_uow() as uow:
        return [
            (row.actor, row.role, row.action, row.subject)
            for row in auth.list_audit(uow, area="support", limit=50, action=action)
        ]


def test_an_agent_refunds_a_line_stock_ledger_payment_and_audit(container, client, clock):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    token = new_cart(client)
    ok(add(client, token, "A1", 3))
    order = ok(checkout(client, token), 201)
    number = order["number"]
    [f] = order["fulfilments"]
    advance(client, f["id"], "accept", "pick", "pack", "ship", "deliver")
    clock.advance(days=3)
    agent, associate = _people(container, client)  # signed in now: tokens expire
    body = {"line_no": 1, "quantity": 2, "location": "DC1", "reason": "arrived broken"}

    refused = client.post(f"{DESK}/orders/{number}/refund-line", json=body, headers=associate)
    assert refused.status_code == 403
    assert stock(client, "A1", "DC1") == (2, 0, 0, 0)

    refunded = ok(client.post(f"{DESK}/orders/{number}/refund-line", json=body, headers=agent))
    assert refunded["lines"][0]["quantity_returned"] == 2
    assert refunded["payment"]["refunded"] == "40.00"
    # stock back at the returns desk, with its ledger row
    assert stock(client, "A1", "DC1") == (4, 0, 0, 0)
    assert ledger_kinds(client, "A1", "DC1")[-1] == "return_restock"
    # the refund is a payment instruction carried out after commit
    assert payment_instructions(container)[-1] == ("refund", "40.00")
    [event] = event_data(container, "refunded")
    assert (event["amount"], event["location"]) == ("40.00", "DC1")
    assert _audit(container, "refund-line") == [
        (
            "service_agent:sam",
            "service_agent",
            "POST /support/desk/orders/{number}/refund-line",
            f"/api/v1/support/desk/orders/{number}/refund-line",
        )
    ]
    again = client.post(f"{DESK}/orders/{number}/refund-line", json=body, headers=agent)
    assert again.status_code == 409
    assert payment_instructions(container).count(("refund", "40.00")) == 1


def test_an_agent_cancels_a_line_and_resends_a_pickup_code(container, client):
    make_orders_network(container)
    agent, _ = _people(container, client)
    receive(container, "A1", "LON1", 3)
    receive(container, "B2", "LON1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    ok(add(client, token, "B2", 1))
    order = ok(checkout(client, token, "pickup_in_store", pickup="LON1"), 201)
    number = order["number"]
    # Out of the order's own bounds: refused at the edge (422), never a 500 in the use case.
    for path, body in (
        ("cancel-line", {"line_no": 2, "quantity": 4511, "reason": "too many"}),
        ("refund-line", {"line_no": 2, "quantity": 4511, "location": "LON1", "reason": "x" * 5}),
        ("return", {"line_no": 3_000_000_000, "quantity": 1}),
    ):
        refused = client.post(f"{DESK}/orders/{number}/{path}", json=body, headers=agent)
        assert refused.status_code == 422, (path, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"

    cancelled = ok(
        client.post(
            f"{DESK}/orders/{number}/cancel-line",
            json={"line_no": 2, "reason": "customer changed mind"},
            headers=agent,
        )
    )
    assert [ln["status"] for ln in cancelled["lines"]] == ["open", "cancelled"]
    assert stock(client, "B2", "LON1") == (3, 0, 0, 0)

    fid = cancelled["fulfilments"][0]["id"]
    early = client.post(f"{DESK}/fulfilments/{fid}/resend-pickup-code", headers=agent)
    assert (early.status_code, early.json()["type"].rsplit("/", 1)[-1]) == (409, "no-pickup-code")
    ready = advance(client, fid, "accept", "pick", "pack", "ready")
    code = waiting_code(container, ready)
    ok(client.post(f"{DESK}/fulfilments/{fid}/resend-pickup-code", headers=agent))
    [reminder] = event_data(container, "pickup_reminder")
    assert "pickup_code" not in reminder and code not in reminder.values()
    moved = client.post(
        f"{DESK}/fulfilments/{fid}/pickup-store", json={"store": "LON2"}, headers=agent
    )
    assert moved.status_code == 409  # served from LON1's own shelf
    assert [a[2].rsplit("/", 1)[-1] for a in _audit(container, "/support/desk")] == [
        "resend-pickup-code",
        "cancel-line",
    ]


def test_an_agent_sends_a_ship_to_store_parcel_to_another_store(container, client):
    make_orders_network(container)
    agent, _ = _people(container, client)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    order = ok(checkout(client, token, "ship_to_store", pickup="LON2"), 201)
    [f] = order["fulfilments"]
    moved = ok(
        client.post(
            f"{DESK}/fulfilments/{f['id']}/pickup-store", json={"store": "LON1"}, headers=agent
        )
    )
    assert moved["fulfilments"][0]["pickup_location"] == "LON1"
    [changed] = event_data(container, "pickup_store_changed")
    assert (changed["from_store"], changed["pickup_location"]) == ("LON2", "LON1")
    order = advance(client, f["id"], "accept", "pick", "pack")
    shipped = ok(client.post(f"/api/v1/fulfilments/{f['id']}/ship", json={"carrier": "internal"}))
    assert shipped["status"] == "shipped"
    assert stock(client, "A1", "LON1") == (0, 0, 0, 1)  # in transit to the new store
    late = client.post(
        f"{DESK}/fulfilments/{f['id']}/pickup-store", json={"store": "LON2"}, headers=agent
    )
    assert late.status_code == 409


def test_the_customer_hears_their_parcel_goes_to_another_store(container, client, notices):
    make_orders_network(container)
    agent, _ = _people(container, client)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    order = ok(checkout(client, token, "ship_to_store", pickup="LON2"), 201)
    number, [f] = order["number"], order["fulfilments"]
    ok(
        client.post(
            f"{DESK}/fulfilments/{f['id']}/pickup-store", json={"store": "LON1"}, headers=agent
        )
    )
    refused = client.post(
        f"{DESK}/fulfilments/{f['id']}/pickup-store", json={"store": "LON1"}, headers=agent
    )
    assert refused.status_code == 409  # no change, no second message

    notices.deliver()
    notices.deliver()  # a second relay run sends nothing again
    assert notices.subjects() == [
        ("ada@example.com", f"Order {number} confirmed"),
        ("ada@example.com", f"Order {number} will now be ready for pickup at London Oxford St"),
    ]
    moved = notices.emails()[1]
    assert "instead of London Camden" in moved.text
    assert "Collect it from:\nLondon Oxford St\n" in moved.text
    assert "- 1 x Item A1  £20.00" in moved.text
    assert order["tracking_url"] in moved.text
    assert "instead of London Camden" in moved.html
    assert "customer asked" not in moved.text  # the agent's reason stays internal
