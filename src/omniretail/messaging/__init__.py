"""Messaging: how side effects leave the system (infrastructure; it knows no domain).

Owns the outbox relay (fan-out of outbox events to handlers, per-handler delivery state in
``deliveries``, retry with back-off, dead letters and their replay), the handler registry, and
the mailer and SMS/push sender ports. Domains subscribe through ``handlers.HandlerRegistry``;
webhooks and customer notifications are the ``notifications`` domain. See
``docs/messaging.md``.
"""
