"""Sending tables: the durable sends and their decision, suppressions, marketing attributes,
the send policy (one row) and the cards shown in the app inbox, in store and on receipts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK, JSONType

SEND_STATUSES = ("queued", "held", "sent", "suppressed", "dropped", "failed")
# The sends not decided yet: what ``deliver_due`` claims (``ix_marketing_sends_undecided_due``).
UNDECIDED_STATUSES = ("queued", "held")
UNDECIDED = f"status IN ({', '.join(repr(s) for s in UNDECIDED_STATUSES)})"


class MarketingSend(Base):
    """One send (unique ``key``): queued, then decided and delivered by ``deliver_due``."""

    __tablename__ = "marketing_sends"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    message_code: Mapped[str] = mapped_column(String(60))
    requested_channel: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[int]
    transactional: Mapped[bool]
    holdout: Mapped[bool]
    premise: Mapped[str] = mapped_column(String(20))
    context: Mapped[dict[str, Any]] = mapped_column(JSONType)
    journey_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    run_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    step_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    notification_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'held', 'sent', 'suppressed', 'dropped', 'failed')",
            name="status_known",
        ),
        Index("ix_marketing_sends_status_due", "status", "due_at"),
        # deliver_due's claim reads it in order (no sort of every undecided send).
        Index(
            "ix_marketing_sends_undecided_due",
            "due_at",
            "id",
            postgresql_where=text(UNDECIDED),
            sqlite_where=text(UNDECIDED),
        ),
        Index("ix_marketing_sends_customer_sent", "customer_id", "sent_at"),
    )


class Suppression(Base):
    """Never send to this customer on this channel (``all``: any channel)."""

    __tablename__ = "marketing_suppressions"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(
            "reason IN ('bounced', 'complained', 'manual', 'unsubscribed')", name="reason_known"
        ),
    )


class Attribute(Base):
    """A marketing attribute of a customer (``preferred_channel``, or set by a journey)."""

    __tablename__ = "marketing_attributes"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))
    updated_at: Mapped[datetime]


class Policy(Base):
    """The send policy: one row (id 1), ``policy`` validated by ``SendPolicy``."""

    __tablename__ = "marketing_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime]


class Card(Base):
    """A rendition shown in the app inbox, to an associate in store, or on a receipt."""

    __tablename__ = "marketing_cards"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    placement: Mapped[str] = mapped_column(String(20))
    send_id: Mapped[int] = mapped_column(ForeignKey("marketing_sends.id"), unique=True)
    # The rendition names the person: title, body and link are vault ciphertext at rest.
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    seen_at: Mapped[datetime | None]
    dismissed_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("placement IN ('inbox', 'store', 'receipt')", name="placement_known"),
        Index("ix_marketing_cards_customer", "customer_id", "placement", "dismissed_at"),
    )
