"""Problems of webhook subscriptions and customer notifications."""

from __future__ import annotations

from omniretail.kernel.errors import InvalidRequest, NotFound


class UnknownSubscription(NotFound):
    slug = "unknown-webhook-subscription"
    title = "No such webhook subscription"


class UnknownNotificationKind(InvalidRequest):
    slug = "unknown-notification-kind"
    title = "No templates for this notification kind and channel"


class NotificationContextIncomplete(InvalidRequest):
    slug = "notification-context-incomplete"
    title = "The notification context lacks fields its templates need"


class UnknownNotification(NotFound):
    slug = "unknown-notification"
    title = "No such message"


class UnsafeWebhookTarget(InvalidRequest):
    slug = "unsafe-webhook-target"
    title = "Webhooks may not go to this address"
