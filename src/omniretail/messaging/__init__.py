"""Messaging: how side effects leave the system.

Owns the outbox relay (fan-out of outbox events to handlers, per-handler delivery state, retry
with back-off, dead letters), the handler registry, webhook subscriptions and their signed
delivery, the mailer and SMS/push sender ports, and notifications rendered from templates.

Emits ``omniretail.messaging.notification_queued`` (a notification waits to be sent).
Domains use it through ``notifications.notify`` and ``handlers.HandlerRegistry``; see
``docs/messaging.md``.
"""
