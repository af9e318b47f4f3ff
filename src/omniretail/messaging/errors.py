from __future__ import annotations

from omniretail.kernel.errors import Conflict, InvalidRequest, NotFound


class UnknownDelivery(NotFound):
    slug = "unknown-delivery"
    title = "No such delivery"


class DeliveryNotDead(Conflict):
    slug = "delivery-not-dead"
    title = "Only a dead-lettered delivery can be replayed"


class UnknownSubscription(NotFound):
    slug = "unknown-webhook-subscription"
    title = "No such webhook subscription"


class UnknownNotificationKind(InvalidRequest):
    slug = "unknown-notification-kind"
    title = "No templates for this notification kind and channel"


class NotificationContextIncomplete(InvalidRequest):
    slug = "notification-context-incomplete"
    title = "The notification context lacks fields its templates need"
