"""Delivery state of the outbox relay (tables only; no session)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at
    SENDING = "sending"  # claimed by a relay until next_attempt_at (the lease)
    DELIVERED = "delivered"
    SKIPPED = "skipped"  # the handler said there is nothing to do (e.g. subscription deleted)
    DEAD = "dead"  # gave up after max attempts; an operator may replay it


# A message is published once all of its deliveries are in one of these.
DONE_STATUSES = (DeliveryStatus.DELIVERED, DeliveryStatus.SKIPPED)
# The rows a relay may claim: pending, or claimed by a relay whose lease may have run out
# (``ix_deliveries_lane_due`` holds only these).
DUE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
DUE = f"status IN ({', '.join(repr(s.value) for s in DUE_STATUSES)})"
# Claim order: every due delivery of the foreground lane before any of the background's.
FOREGROUND_LANE = 0
BACKGROUND_LANE = 1


class Delivery(Base):
    """One outbox message for one handler: the unit that is claimed, retried and dead-lettered."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("outbox.id"))
    # The outbox position, copied so due deliveries are taken in event order without a join.
    position: Mapped[int] = mapped_column(BigInteger)
    handler: Mapped[str] = mapped_column(String(200))
    # Set when planned, from the handler's registration (``background``).
    lane: Mapped[int] = mapped_column(SmallInteger, default=FOREGROUND_LANE, server_default="0")
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
        # The claim reads it in order and stops after a batch: no sort of the due backlog.
        Index(
            "ix_deliveries_lane_due",
            "lane",
            "position",
            "id",
            postgresql_where=text(DUE),
            sqlite_where=text(DUE),
        ),
        CheckConstraint(
            "status IN ('pending', 'sending', 'delivered', 'skipped', 'dead')", name="status_known"
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )
