"""A pickup code hands an order over: the customer's message carries it, staff never read it.

The renderer marks the code in the text; the send reveals it (a retry too), every read that
staff have (the notifications API, the message log, ``list_notifications``) masks it."""

from __future__ import annotations

from sqlalchemy import select

from omniretail.messaging.mail import RecordingMailer, SmtpConfig, SmtpMailer
from omniretail.messaging.senders import RecordingSmsSender
from omniretail.notifications import service
from omniretail.notifications.models import Notification
from omniretail.notifications.rendering import mask, render, reveal
from omniretail.notifications.schemas import MessageQuery
from tests.loopback import free_port
from tests.notifications.test_notifications import CONTEXT

CODE = "482913"
MASKED = "\u2022" * len(CODE)
PICKUP = {**CONTEXT, "pickup_code": CODE}


def test_the_code_is_marked_revealed_to_send_and_masked_to_read():
    rendered = render("ready_for_pickup", "email", PICKUP)
    for text in (rendered.body, rendered.html):
        assert reveal(text) is not None and CODE in str(reveal(text))
        shown = str(mask(text))
        assert CODE not in shown and MASKED in shown and len(shown) == len(str(reveal(text)))
    assert f"Pickup code: {CODE}" in str(reveal(rendered.body))
    assert reveal(None) is None and mask(None) is None


def test_staff_read_a_masked_code_and_the_customer_gets_it_even_on_a_retry(
    container, clock, client
):
    container.senders.mailer = SmtpMailer(
        SmtpConfig(host="127.0.0.1", port=free_port(), timeout_seconds=2)
    )
    sms = container.senders.sms = RecordingSmsSender()
    with container.uow() as uow:
        queued = service.notify(uow, "ready_for_pickup", "email", "ann@example.com", PICKUP, "e-1")
        service.notify(uow, "pickup_reminder", "sms", "+447700900123", PICKUP, "e-2")
    assert CODE not in queued.body and MASKED in queued.body

    container.relay().run_until_idle()  # the SMTP server is down: the email waits for a retry
    assert [m.text for m in sms.sent] == [
        f"Omniretail reminder: order WEB-1001 is waiting at London Oxford St. Pickup code {CODE}."
    ]

    # What staff read: the API, the message log (both forms of each message), the service.
    listed = client.get("/api/v1/notifications/messages")
    assert listed.status_code == 200 and len(listed.json()["items"]) == 2
    one = client.get(f"/api/v1/notifications/messages/{queued.id}")
    assert one.status_code == 200 and MASKED in one.json()["body"]
    assert MASKED in one.json()["html_body"]
    with container.read_uow() as uow:
        reads = [
            *service.list_notifications(uow),
            *service.list_messages(uow, MessageQuery()).items,
            service.get_message(uow, queued.id),
        ]
        stored = list(uow.session.scalars(select(Notification)))
    for text in (listed.text, one.text, *(str(r.model_dump()) for r in reads)):
        assert CODE not in text
    # at rest: vault ciphertext (marks and all)
    assert all(CODE not in f"{n.body}{n.html_body}{n.subject}" for n in stored)

    recording = container.senders.mailer = RecordingMailer()
    clock.advance(seconds=container.settings.relay_backoff_base_seconds)
    assert container.relay().run_until_idle().delivered == 1
    [mail] = recording.sent
    assert f"Pickup code: {CODE}" in mail.text and f"<strong>{CODE}</strong>" in str(mail.html)
    assert "\ue000" not in mail.text + str(mail.html) + mail.subject
