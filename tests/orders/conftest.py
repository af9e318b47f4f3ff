"""What an order journey sent: emails at the real SMTP server and webhook calls at the real
receiver, both on loopback (``tests/loopback.py``).

``notices`` points the container's SMTP settings at the test's ``smtp_server`` and subscribes
the ``receiver`` to the customer-visible order events through ``POST /api/v1/webhooks``; the
receiver verifies every call's HMAC-SHA256 signature with the subscription's secret.
``notices.deliver()`` runs the outbox relay until nothing is due and checks that no delivery
failed; ``emails()`` and ``webhooks()`` then say exactly what arrived.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from omniretail.bootstrap import Container
from omniretail.messaging.models import Delivery
from omniretail.messaging.wiring import build_mailer
from tests.loopback import SmtpSink, WebhookReceiver

SENDER = "shop@example.com"
SECRET = "whsec_journeys_0123456789abcdef"
# What a CRM or a customer-service tool would subscribe to: the changes a customer sees.
WEBHOOK_EVENTS = [
    f"omniretail.orders.{name}"
    for name in (
        "order_confirmed",
        "rerouted",
        "shipped",
        "delivered",
        "ready_for_pickup",
        "pickup_reminder",
        "curbside_arrived",
        "collected",
        "cancelled",
        "refunded",
        "exchanged",
    )
]


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


@dataclass
class Notices:
    container: Container
    smtp: SmtpSink
    receiver: WebhookReceiver

    def deliver(self) -> None:
        """Runs the relay until idle: the handlers queue the emails, the same run sends them.
        Every delivery must have succeeded (or been skipped on purpose)."""
        self.container.relay().run_until_idle()
        with self.container.read_uow() as uow:
            failed = [
                (d.handler, d.status, d.last_error)
                for d in uow.session.scalars(select(Delivery))
                if d.status not in ("delivered", "skipped")
            ]
        assert failed == []

    def emails(self) -> list[Email]:
        found = []
        for mail_from, rcpt_tos, message in self.smtp.received:
            assert (mail_from, rcpt_tos) == (SENDER, [message["To"]])
            found.append(
                Email(
                    message["To"],
                    message["Subject"],
                    _part(message, "plain"),
                    _part(message, "html"),
                )
            )
        return found

    def subjects(self) -> list[tuple[str, str]]:
        """(recipient, subject) of every email that arrived, in order."""
        return [(e.to, e.subject) for e in self.emails()]

    def webhooks(self) -> list[tuple[str, str]]:
        """(event type without ``omniretail.orders.``, order number) of every call that
        arrived, in order; each one's signature was verified by the receiver."""
        calls = []
        for request in self.receiver.requests:
            assert request.verified is True, request.headers
            event: dict[str, Any] = json.loads(request.body)
            assert request.headers["Omniretail-Event-Id"] == event["id"]
            calls.append((event["type"].removeprefix("omniretail.orders."), event["data"]["order"]))
        return calls


def _part(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


@pytest.fixture
def notices(
    container: Container,
    client: TestClient,
    clock: Any,
    smtp_server: SmtpSink,
    receiver: WebhookReceiver,
) -> Iterator[Notices]:
    settings = container.settings.model_copy(
        update={
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_from": f"Omniretail <{SENDER}>",
        }
    )
    container.senders.mailer = build_mailer(settings)
    created = client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": WEBHOOK_EVENTS, "secret": SECRET},
    )
    assert created.status_code == 201, created.text
    # Signed with the container's clock: verify at that time.
    receiver.expect_signature(created.json()["secret"], lambda: clock.now().timestamp())
    yield Notices(container, smtp_server, receiver)
