"""Pydantic I/O for the relay's deliveries (API and CLI)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class DeliveryRead(BaseModel):
    """One event for one handler (``webhook:<subscription id>`` for webhooks)."""

    id: int
    message_id: str
    event_type: str
    handler: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
