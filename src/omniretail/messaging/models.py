"""Delivery state, webhook subscriptions and notifications (tables only; no session)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK, JSONType


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at
    SENDING = "sending"  # claimed by a relay until next_attempt_at (the lease)
    DELIVERED = "delivered"
    SKIPPED = "skipped"  # the handler said there is nothing to do (e.g. subscription deleted)
    DEAD = "dead"  # gave up after max attempts; an operator may replay it


# A message is published once all of its deliveries are in one of these.
DONE_STATUSES = (DeliveryStatus.DELIVERED, DeliveryStatus.SKIPPED)


class Delivery(Base):
    """One outbox message for one handler: the unit that is claimed, retried and dead-lettered."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("outbox.id"))
    # The outbox position, copied so due deliveries are taken in event order without a join.
    position: Mapped[int] = mapped_column(BigInteger)
    handler: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    # Set while claimed; a relay only records the outcome of a claim it still holds.
    claim_token: Mapped[str | None] = mapped_column(String(36))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("message_id", "handler"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_handler", "handler", "status"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'delivered', 'skipped', 'dead')", name="status_known"
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Patterns matched against the CloudEvent type, e.g. ["omniretail.inventory.*"].
    event_types: Mapped[list[str]] = mapped_column(JSONType)
    secret: Mapped[str] = mapped_column(String(200))
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
    # Vault ciphertext (messaging.notifications.SEALED): who it goes to and what it says.
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
