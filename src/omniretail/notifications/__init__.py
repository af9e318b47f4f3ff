"""Notifications: webhook subscriptions and customer notifications.

Owns the tables ``webhook_subscriptions`` and ``notifications``, the notification templates
(``templates/notifications/<kind>/``) and the relay handlers that send them: one per webhook
subscription (``webhook:<id>``, signed HTTP POSTs) and ``messaging.send_notification``.
Emits ``messaging.notification_queued`` (a notification waits to be sent; the stored type
predates this package). Domains send a customer a message with ``service.notify`` from their
relay handlers; see ``docs/messaging.md``.
"""
