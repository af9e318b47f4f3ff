"""The relay handlers of this domain: sending queued notifications, and one handler per webhook
subscription (a ``HandlerSource``). ``install`` adds both to the registry."""

from __future__ import annotations

from omniretail.kernel.clock import Clock
from omniretail.messaging.handlers import (
    CloudEvent,
    EventMeta,
    HandlerRegistry,
    SkipDelivery,
    UowFactory,
)
from omniretail.messaging.mail import Email
from omniretail.messaging.senders import Senders
from omniretail.notifications import repository
from omniretail.notifications.events import SEND_HANDLER, NotificationQueued
from omniretail.notifications.models import Channel, NotificationStatus
from omniretail.notifications.schemas import NotificationRead
from omniretail.notifications.service import notification_read
from omniretail.notifications.webhooks import WebhookSource


class NotificationSender:
    """The relay handler that sends a queued notification through its channel's port.

    The send runs outside any transaction; a crash between the send and marking it sent
    sends again on the next attempt (emails carry a stable Message-ID for that case).

    ``many`` takes a relay batch: the notifications read in one transaction, then sent one
    after the other, each marked sent in its own transaction right after its send (as one by
    one), so a relay killed mid-batch repeats at most the one send in flight. A failing send
    raises and the relay hands the batch's events over one by one: those marked sent are not
    sent again, the failing one is retried alone."""

    def __init__(self, senders: Senders) -> None:
        self.senders = senders

    def __call__(self, event: NotificationQueued, meta: EventMeta, uow_factory: UowFactory) -> None:
        notification_id = event.notification_id
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

    def many(self, events: list[CloudEvent], uow_factory: UowFactory) -> None:
        ids = [NotificationQueued.parse(e["data"]).notification_id for e in events]
        with uow_factory() as uow:
            stored = repository.get_notifications(uow.session, ids)
            found = {i: notification_read(uow.vault, n) for i, n in stored.items()}
        for notification_id in dict.fromkeys(ids):
            notification = found.get(notification_id)
            if notification is None or notification.status == NotificationStatus.SENT:
                continue
            self._send(notification)
            with uow_factory() as uow:
                repository.mark_notification_sent(uow.session, notification_id, uow.now)
        missing = [i for i in ids if i not in found]
        if missing:  # one by one, the relay records those as skipped
            raise SkipDelivery(f"notifications {missing} no longer exist")

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


def install(
    registry: HandlerRegistry,
    senders: Senders,
    clock: Clock,
    *,
    webhook_timeout_seconds: float,
    webhook_allow_private_networks: bool = False,
) -> None:
    sender = NotificationSender(senders)

    def one(event: CloudEvent, uow_factory: UowFactory) -> None:
        sender(NotificationQueued.parse(event["data"]), EventMeta.of(event), uow_factory)

    # A batch commits each send as it goes (one by one would read each in a transaction of
    # its own too): tests/marketing/test_journeys_crash.py bounds duplicates to one per kill.
    registry.add(NotificationQueued.cloud_type(), SEND_HANDLER, one, batch=sender.many)
    registry.add_source(
        WebhookSource(
            clock,
            timeout_seconds=webhook_timeout_seconds,
            allow_private_networks=webhook_allow_private_networks,
        )
    )
