"""The relay handlers of this domain: sending queued notifications, and one handler per webhook
subscription (a ``HandlerSource``). ``install`` adds both to the registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omniretail.kernel.clock import Clock
from omniretail.kernel.vault import PiiVault
from omniretail.messaging.handlers import (
    CloudEvent,
    EventMeta,
    HandlerRegistry,
    SkipDelivery,
    Skips,
    UowFactory,
)
from omniretail.messaging.mail import Email
from omniretail.messaging.senders import Senders
from omniretail.notifications import repository
from omniretail.notifications.events import SEND_HANDLER, NotificationQueued
from omniretail.notifications.models import Channel, NotificationStatus
from omniretail.notifications.rendering import reveal
from omniretail.notifications.service import SEALED
from omniretail.notifications.webhooks import WebhookSource


@dataclass(frozen=True)
class Outgoing:
    """A queued notification, decrypted, as its send needs it."""

    id: int
    channel: str
    recipient: str
    subject: str | None
    body: str
    html_body: str | None
    sent: bool
    source_event_id: str


class NotificationSender:
    """The relay handler that sends a queued notification through its channel's port.

    The send runs outside any transaction; a crash between the send and marking it sent
    sends again on the next attempt (emails carry a stable Message-ID for that case).

    ``many`` takes a relay batch: the notifications read in one statement, then sent one
    after the other, each marked sent right after its send by one statement committed at
    once (``repository.marking_sent``: autocommit on PostgreSQL, no ORM session), so a relay
    killed mid-batch repeats at most the one send in flight. A failing send raises and the
    relay hands the batch's events over one by one: those marked sent are not sent again, the
    failing one is retried alone."""

    def __init__(self, senders: Senders, clock: Clock) -> None:
        self.senders = senders
        self.clock = clock

    def __call__(self, event: NotificationQueued, meta: EventMeta, uow_factory: UowFactory) -> None:
        notification_id = event.notification_id
        if not self._send_all([notification_id], uow_factory):
            raise SkipDelivery(f"notification {notification_id} no longer exists")

    def many(self, events: list[CloudEvent], uow_factory: UowFactory) -> Skips:
        ids = {e["id"]: NotificationQueued.parse(e["data"]).notification_id for e in events}
        found = self._send_all(list(ids.values()), uow_factory)
        return {
            event_id: f"notification {notification_id} no longer exists"
            for event_id, notification_id in ids.items()
            if notification_id not in found
        }

    def _send_all(self, ids: list[int], uow_factory: UowFactory) -> set[int]:
        """Send those of ``ids`` still queued, in order, each marked sent after its send;
        returns the ids found."""
        with uow_factory() as uow:
            rows = repository.notifications_to_send(uow.session, ids)
            vault = uow.vault
            found = {row.id: _outgoing(vault, row) for row in rows}
        todo = [found[i] for i in dict.fromkeys(ids) if i in found and not found[i].sent]
        if todo:
            with repository.marking_sent(uow.session, self.clock) as mark:
                for notification in todo:
                    self._send(notification)
                    mark(notification.id)
        return set(found)

    def _send(self, notification: Outgoing) -> None:
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


def install(
    registry: HandlerRegistry,
    senders: Senders,
    clock: Clock,
    *,
    webhook_timeout_seconds: float,
    webhook_allow_private_networks: bool = False,
) -> None:
    sender = NotificationSender(senders, clock)

    def one(event: CloudEvent, uow_factory: UowFactory) -> None:
        sender(NotificationQueued.parse(event["data"]), EventMeta.of(event), uow_factory)

    # A batch commits each send as it goes (one by one would read each in a transaction of
    # its own too): tests/marketing/test_journeys_crash.py bounds duplicates to one per kill.
    # In the background lane: segment evaluations and journey triggers go first.
    registry.add(
        NotificationQueued.cloud_type(), SEND_HANDLER, one, batch=sender.many, background=True
    )
    registry.add_source(
        WebhookSource(
            clock,
            timeout_seconds=webhook_timeout_seconds,
            allow_private_networks=webhook_allow_private_networks,
        )
    )


def _outgoing(vault: PiiVault, row: Any) -> Outgoing:
    # As sent: a secret's marks dropped (``rendering.reveal``), the pickup code in clear.
    plain = {c: reveal(vault.decrypt(f"notification_{c}", getattr(row, c))) for c in SEALED}
    return Outgoing(
        id=row.id,
        channel=row.channel,
        recipient=plain["recipient"] or "",
        subject=plain["subject"],
        body=plain["body"] or "",
        html_body=plain["html_body"],
        sent=row.status == NotificationStatus.SENT,
        source_event_id=row.source_event_id,
    )
