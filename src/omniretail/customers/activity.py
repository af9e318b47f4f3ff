"""Moved to ``customers.service.activity``: import these from ``customers.service``. This module
stays only for the console and ``api/customer_views.py`` until they do (then delete it)."""

from __future__ import annotations

from omniretail.customers.service.activity import (
    activity_read,
    identify_session,
    ingest_events,
    order_channel,
    record_contact,
    record_order,
    record_order_cancellation,
    record_orders,
    send_marketing_message,
    timeline,
    update_return_status,
)

__all__ = [
    "activity_read",
    "identify_session",
    "ingest_events",
    "order_channel",
    "record_contact",
    "record_order",
    "record_order_cancellation",
    "record_orders",
    "send_marketing_message",
    "timeline",
    "update_return_status",
]
