"""Notification events (``omniretail.messaging.*`` in the outbox: the stored type predates this
package and is kept).

They are internal plumbing: webhook subscriptions never receive them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omniretail.kernel.events import Event

# CloudEvent types starting with this are never sent to webhook subscribers.
INTERNAL_TYPE_PREFIX = "omniretail.messaging."


@dataclass(frozen=True, kw_only=True)
class NotificationQueued(Event):
    """A notification was rendered and stored (``notify``, from a domain's handler); the relay's
    ``messaging.send_notification`` handler sends it. No recipient or body here: the sender
    reads them from the notifications table."""

    type: ClassVar[str] = "messaging.notification_queued"
    subject_template: ClassVar[str] = "notifications/{notification_id}"
    notification_id: int
    channel: str
    kind: str


# The relay handler that sends a queued notification (stored with each delivery: the name
# predates this package and is kept).
SEND_HANDLER = "messaging.send_notification"
# The subject of a NotificationQueued event, before the notification's id.
SUBJECT_PREFIX = NotificationQueued.subject_template.partition("{")[0]
