"""Webhook subscriptions and customer notifications (tables only; no session)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK, JSONType

SECRET_FIELD = "webhook_secret"


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Patterns matched against the CloudEvent type, e.g. ["omniretail.inventory.*"].
    event_types: Mapped[list[str]] = mapped_column(JSONType)
    # The signing secret, as vault ciphertext (``SECRET_FIELD``): it is shown once, on creation.
    secret_enc: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


class NotificationStatus(StrEnum):
    QUEUED = "queued"  # recorded; its send is a delivery in the relay
    SENT = "sent"


class Notification(Base):
    """A message to one person on one channel, rendered when recorded and sent by the relay."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_ref: Mapped[str | None] = mapped_column(String(100), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(60))
    # Vault ciphertext (notifications.service.SEALED): who it goes to and what it says.
    recipient: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # The event that caused it: a redelivered event finds the row and sends nothing new.
    source_event_id: Mapped[str] = mapped_column(String(36))

    __table_args__ = (
        UniqueConstraint("source_event_id", "channel", "kind"),
        CheckConstraint("channel IN ('email', 'sms', 'push')", name="channel_known"),
        CheckConstraint("status IN ('queued', 'sent')", name="status_known"),
    )
