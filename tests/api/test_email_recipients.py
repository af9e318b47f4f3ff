"""An email address someone types (checkout's contact email, an identity, a receipt) is one
mailbox: ``To: me@x.test, victim@y.test`` mails both, so the shop would send its order mails
and codes wherever a stranger asks. Refused where it is typed (422) and again where the mail
is built (``messaging.mail.build_message``), for addresses stored before."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from omniretail.customers.models import Identity
from omniretail.kernel.errors import InvalidRequest
from omniretail.messaging.mail import Email, build_message
from omniretail.notifications import service as notifications
from omniretail.support.models import Conversation

API = "/api/v1"
LISTS = [
    "me@example.com, victim@example.org",
    "me@example.com,victim@example.org",
    "me@example.com;victim@example.org",
    "Me <me@example.com>",
    "me@example.com\r\nBcc: victim@example.org",
]


@pytest.mark.parametrize("to", LISTS)
def test_a_mail_is_never_built_for_a_list_of_recipients(to: str) -> None:
    with pytest.raises(ValueError, match="not one email address"):
        build_message(Email(to=to, subject="Your order", text="Hello"), "shop@example.com")


def test_a_mail_to_one_address_is_built() -> None:
    message = build_message(Email(to=" me@example.com ", subject="s", text="t"), "shop@x.test")
    assert message["To"] == "me@example.com"


def test_checkout_refuses_a_list_as_its_contact_email(client) -> None:
    for value in LISTS:
        r = client.post(
            f"{API}/carts/no-such-cart/checkout",
            json={
                "fulfilment": {"method": "ship_to_home", "latitude": 51.5, "longitude": -0.1},
                "payment": {"provider_token": "tok_visa"},
                "contact_email": value,
            },
        )
        assert r.status_code == 422, (value, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "contact_email" in r.text


def test_an_email_identity_is_one_address(container, client) -> None:
    made = client.post(f"{API}/customers", json={"name": "Mallory"})
    assert made.status_code == 201, made.text
    customer_id = made.json()["customer"]["id"]
    for value in LISTS:
        r = client.post(
            f"{API}/customers/{customer_id}/identities", json={"kind": "email", "value": value}
        )
        assert r.status_code == 422, (value, r.text)
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Identity)) == 0


def test_a_notification_is_not_queued_for_a_list_of_recipients(container) -> None:
    with container.uow() as uow, pytest.raises(InvalidRequest, match="not a email recipient"):
        notifications.notify(uow, "receipt", "email", LISTS[0], {}, "source-1")


def test_the_public_chat_takes_one_address_or_none(container, client) -> None:
    for value in LISTS:
        r = client.post(f"{API}/support/chats", json={"message": "Hello", "email": value})
        assert r.status_code == 422, (value, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "email" in r.text
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Conversation)) == 0
    started = client.post(f"{API}/support/chats", json={"message": "Hi", "email": "me@x.test"})
    assert started.status_code == 201, started.text


def test_a_rendered_mass_send_is_not_queued_for_a_list_of_recipients(container) -> None:
    item = notifications.Rendered(
        channel="email", recipient=LISTS[0], subject="s", body="b", html_body=None, source_key="k"
    )
    with container.uow() as uow, pytest.raises(InvalidRequest, match="not a email recipient"):
        notifications.notify_rendered(uow, [item])
