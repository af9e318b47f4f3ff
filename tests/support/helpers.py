"""Builders for support tests: people with API keys, an order placed through checkout, and
emails as a mail client writes them."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from fastapi.testclient import TestClient

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive

API = "/api/v1"


def key_for(container: Container, username: str, role: Role, **extra: Any) -> dict[str, str]:
    with container.uow() as uow:
        principal = auth.create_principal(
            uow, PrincipalCreate(username=username, role=role, **extra)
        )
        return {"X-API-Key": auth.create_api_key(uow, principal.id, "tests").key}


def customer_bearer(
    container: Container, client: TestClient, customer_id: int, username: str
) -> dict[str, str]:
    """A customer signing in with their verified email and a password (customers get no API
    keys)."""
    password = "correct horse battery"
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=customer_id, password=password)
        )
    r = client.post(
        f"{API}/auth/token",
        data={"username": username, "password": password},
        headers={"X-API-Key": ""},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}", "X-API-Key": ""}


def place_order(
    container: Container, client: TestClient, customer_id: int | None
) -> dict[str, Any]:
    """One home-delivery order through the real checkout."""
    make_orders_network(container)
    receive(container, "A1", "LON1", 5)
    token = new_cart(client, "WEB", customer_id)
    ok(add(client, token, "A1", 1))
    return dict(ok(checkout(client, token), 201))


TRUSTED_MX = "mx.shop.example"


def email(
    *,
    sender: str = "Ada Lovelace <ada@example.com>",
    to: str = "help@shop.example",
    subject: str = "Question",
    body: str = "Hello",
    in_reply_to: str | None = None,
    references: str | None = None,
    message_id: str | None = None,
    attachments: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    authenticated_by: str | None = None,
) -> EmailMessage:
    """``authenticated_by``: the receiving server's DKIM pass for the sender's domain."""
    message = EmailMessage()
    if authenticated_by:
        domain = sender.rsplit("@", 1)[1].strip(" >")
        message["Authentication-Results"] = f"{authenticated_by}; dkim=pass header.d={domain}"
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.com")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    message.set_content(body)
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message
