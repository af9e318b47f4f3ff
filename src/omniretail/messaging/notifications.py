"""Notifications: ``notify`` records one from a domain handler; the relay sends it.

A domain reacts to its own event in a relay handler and calls::

    notify(uow, "shipped", "email", customer_email, context, source_event_id=event["id"],
           customer_ref=str(customer_id))

inside the handler's unit of work. The notification is rendered and stored in that
transaction, together with a ``messaging.notification_queued`` outbox event; the relay's
``notifications.send`` handler sends it after commit. A redelivered source event finds the
stored notification (unique on source event, channel and kind) and queues nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import InvalidRequest
from omniretail.kernel.vault import PiiVault
from omniretail.messaging import events, repository
from omniretail.messaging.events import NOTIFICATION_QUEUED
from omniretail.messaging.handlers import CloudEvent, HandlerRegistry, SkipDelivery, UowFactory
from omniretail.messaging.mail import Email
from omniretail.messaging.models import Channel, NotificationStatus
from omniretail.messaging.rendering import render
from omniretail.messaging.schemas import NotificationRead
from omniretail.messaging.senders import Senders

SEND_HANDLER = "messaging.send_notification"


def notify(
    uow: UnitOfWork,
    kind: str,
    channel: Channel | str,
    recipient: str,
    context: dict[str, Any],
    source_event_id: str,
    *,
    customer_ref: str | None = None,
) -> NotificationRead:
    """Record a notification and queue its send; at most one per (source event, channel, kind).

    Raises ``UnknownNotificationKind`` or ``NotificationContextIncomplete`` (a ``DomainError``)
    when it cannot be rendered, before anything is written."""
    channel = _channel(channel)
    if not recipient.strip() or (channel is Channel.EMAIL and "@" not in recipient):
        # Not the value itself: the message may end up in a delivery's last_error.
        raise InvalidRequest(f"the recipient is not a {channel.value} recipient", field="recipient")
    existing = repository.get_notification_by_source(
        uow.session, source_event_id, channel.value, kind
    )
    if existing is not None:
        return notification_read(uow.vault, existing)
    rendered = render(kind, channel, context)
    row: dict[str, Any] = {
        "customer_ref": customer_ref,
        "channel": channel.value,
        "kind": kind,
        "recipient": recipient.strip(),
        "subject": rendered.subject,
        "body": rendered.body,
        "html_body": rendered.html,
        "status": NotificationStatus.QUEUED.value,
        "created_at": uow.now,
        "sent_at": None,
        "source_event_id": source_event_id,
    }
    notification_id = repository.add_notification_if_new(uow.session, _sealed(uow.vault, row))
    if notification_id is None:  # a concurrent delivery of the same event stored it first
        stored = repository.get_notification_by_source(
            uow.session, source_event_id, channel.value, kind
        )
        assert stored is not None
        return notification_read(uow.vault, stored)
    uow.record(events.notification_queued(notification_id, channel.value, kind))
    return NotificationRead(id=notification_id, **row)


# The columns that hold the person's data (recipient, and names, addresses and pickup codes
# in the rendered text): vault ciphertext at rest (db.encrypted), decrypted to send.
SEALED = ("recipient", "subject", "body", "html_body")


def _sealed(vault: PiiVault, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, **{c: vault.encrypt(f"notification_{c}", row[c]) for c in SEALED}}


def notification_read(vault: PiiVault, stored: Any) -> NotificationRead:
    read = NotificationRead.model_validate(stored)
    return read.model_copy(
        update={c: vault.decrypt(f"notification_{c}", getattr(read, c)) for c in SEALED}
    )


def forget_recipient(uow: UnitOfWork, customer_refs: Sequence[str]) -> int:
    """Erasure: deletes the notifications recorded for these customers (``customer_ref``);
    a queued send of one of them then ends as skipped. Returns how many went."""
    return repository.delete_notifications_of(uow.session, customer_refs)


def _channel(channel: Channel | str) -> Channel:
    try:
        return Channel(channel)
    except ValueError:
        known = ", ".join(c.value for c in Channel)
        raise InvalidRequest(f"no channel {channel!r}; known: {known}", field="channel") from None


class NotificationSender:
    """The relay handler that sends a queued notification through its channel's port.

    The send runs outside any transaction; a crash between the send and marking it sent
    sends again on the next attempt (emails carry a stable Message-ID for that case)."""

    def __init__(self, senders: Senders) -> None:
        self.senders = senders

    def __call__(self, event: CloudEvent, uow_factory: UowFactory) -> None:
        notification_id = int(event["data"]["notification_id"])
        with uow_factory() as uow:
            stored = repository.get_notification(uow.session, notification_id)
            if stored is None:
                raise SkipDelivery(f"notification {notification_id} no longer exists")
            notification = notification_read(uow.vault, stored)
        if notification.status == NotificationStatus.SENT:
            return
        self._send(notification)
        with uow_factory() as uow:
            repository.mark_notification_sent(uow.session, notification_id, uow.now)

    def _send(self, notification: NotificationRead) -> None:
        channel = Channel(notification.channel)
        if channel is Channel.EMAIL:
            self.senders.mailer.send(
                Email(
                    to=notification.recipient,
                    subject=notification.subject or "",
                    text=notification.body,
                    html=notification.html_body,
                    message_id=f"<notification-{notification.id}."
                    f"{notification.source_event_id}@omniretail>",
                )
            )
        elif channel is Channel.SMS:
            self.senders.sms.send(notification.recipient, notification.body)
        else:
            self.senders.push.send(
                notification.recipient, notification.subject or "", notification.body
            )


def install(registry: HandlerRegistry, senders: Senders) -> None:
    registry.add(NOTIFICATION_QUEUED, SEND_HANDLER, NotificationSender(senders))
