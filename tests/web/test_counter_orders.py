"""Orders an associate places for a customer ("find it elsewhere"): recorded on the store's till
channel whatever the form says, and the customer is told, with the pickup code when it is
ready, through the outbox."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.messaging.mail import RecordingMailer
from omniretail.orders import service as lookup
from tests.drain import drain
from tests.web.conftest import post, sign_in
from tests.web.seed import ASSOCIATE, CUSTOMER_EMAIL, Seeded


@pytest.fixture
def mailer(container: Container) -> RecordingMailer:
    recording = RecordingMailer()
    container.senders.mailer = recording
    return recording


def _order_for_ada(web: TestClient, sku: str, location: str, method: str, **extra: str) -> str:
    find = f"/store/find?sku={sku}"
    added = post(
        web,
        find,
        "/store/find/order",
        {"sku": sku, "quantity": "1", "location": location, "kind": "email",
         "value": CUSTOMER_EMAIL, **extra},
    )  # fmt: skip
    assert added.status_code == 303, added.text  # type: ignore[attr-defined]
    cart = str(added.headers["location"]).split("?")[0]  # type: ignore[attr-defined]
    placed = post(
        web,
        cart,
        f"{cart}/checkout",
        {"method": method, "provider_token": "tok_visa", "channel": "WEB", **extra},
    )
    assert placed.status_code == 303, placed.text  # type: ignore[attr-defined]
    notice = str(placed.headers["location"])  # type: ignore[attr-defined]
    assert "confirmation%20by%20email" in notice, notice
    return notice.split("notice=Order%20")[1].split("%20")[0]


def test_an_order_from_the_warehouse_is_recorded_on_the_stores_channel(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    sign_in(web, ASSOCIATE)

    number = _order_for_ada(web, "C3", "DC1", "ship_to_store")

    with container.read_uow() as uow:
        order = lookup.get_order(uow, number)
    assert order.channel == "POS"  # not the web shop, though the stock is the web shop's
    assert order.customer_id == seeded.customer_id
    assert [(f.location, f.pickup_location) for f in order.fulfilments] == [("DC1", "LON1")]


def test_the_customer_is_sent_the_confirmation_and_then_the_pickup_code(
    web: TestClient, container: Container, mailer: RecordingMailer
) -> None:
    sign_in(web, ASSOCIATE)
    number = _order_for_ada(web, "A1", "LON1", "pickup_in_store")
    with container.read_uow() as uow:
        order = lookup.get_order(uow, number)
    assert order.channel == "POS" and order.contact_email == CUSTOMER_EMAIL
    [f] = order.fulfilments
    page = f"/store/orders/{number}"
    said = {"accept": "Accepted.", "pick": "Picking%20started.", "pack": "Packed."}
    for step in ("accept", "pick", "pack", "ready"):
        done = post(web, page, f"{page}/fulfilments/{f.id}/{step}", {})
        assert done.status_code == 303, done.text  # type: ignore[attr-defined]
        if step in said:  # in the buttons' words, not "Done: pick."
            assert done.headers["location"].endswith(f"notice={said[step]}")  # type: ignore[attr-defined]
    assert "sent%20the%20pickup%20code" in done.headers["location"]  # type: ignore[attr-defined]

    drain(container)

    with container.read_uow() as uow:
        code = next(iter(lookup.pickup_codes(uow, number).values()), None)
    assert code is not None
    mine = [e for e in mailer.sent if number in e.subject]
    assert [e.to for e in mine] == [CUSTOMER_EMAIL, CUSTOMER_EMAIL]
    confirmed, ready = mine
    assert "confirmed" in confirmed.subject
    assert "ready for pickup" in ready.subject and f"Pickup code: {code}" in ready.text
