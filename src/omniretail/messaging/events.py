"""Past-tense messaging events (``omniretail.messaging.*`` in the outbox).

They are internal plumbing: webhook subscriptions never receive them."""

from __future__ import annotations

from omniretail.kernel.events import DomainEvent

INTERNAL_TYPE_PREFIX = "omniretail.messaging."
NOTIFICATION_QUEUED = "omniretail.messaging.notification_queued"


def notification_queued(notification_id: int, channel: str, kind: str) -> DomainEvent:
    # No recipient or body here: the sender reads them from the notifications table.
    return DomainEvent(
        "messaging.notification_queued",
        f"notifications/{notification_id}",
        {"notification_id": notification_id, "channel": channel, "kind": kind},
    )
