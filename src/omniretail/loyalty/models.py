"""Loyalty tables. The ledger (``loyalty_entries``) is the truth; account counters are kept
in step with it in the same transaction and checked by ``omniretail loyalty recompute``.
Points live in lots, each with its own expiry; counters and lots never go negative (CHECK)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK


class EntryKind(StrEnum):
    EARN = "earn"  # a purchase: pending until its return window closes
    RELEASE = "release"  # pending points become available
    REWARD = "reward"  # welcome, actions, campaigns: available at once
    REDEEM = "redeem"
    REVERSE = "reverse"  # a redemption given back (checkout failed)
    EXPIRE = "expire"
    ADJUST = "adjust"
    CLAWBACK = "clawback"


class LotStatus(StrEnum):
    PENDING = "pending"
    AVAILABLE = "available"
    CLOSED = "closed"  # used up, expired or clawed back


class CouponStatus(StrEnum):
    ISSUED = "issued"
    REDEEMED = "redeemed"
    VOID = "void"


class Programme(Base):
    """Versioned programme rules (earn rates, tiers, rewards, campaigns) held as data."""

    __tablename__ = "loyalty_programmes"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    rules: Mapped[dict[str, Any]]
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(120))


class Account(Base):
    __tablename__ = "loyalty_accounts"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    available: Mapped[int] = mapped_column(default=0)
    pending: Mapped[int] = mapped_column(default=0)
    # Points clawed back after they were spent; settled from the next points earned.
    owed: Mapped[int] = mapped_column(default=0)
    tier: Mapped[str] = mapped_column(String(40))
    tier_changed_at: Mapped[datetime]
    enrolled_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("pending >= 0", name="pending_not_negative"),
        CheckConstraint("owed >= 0", name="owed_not_negative"),
    )


class Lot(Base):
    __tablename__ = "loyalty_lots"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("loyalty_accounts.customer_id"))
    source_key: Mapped[str] = mapped_column(String(120), unique=True)
    points: Mapped[int]
    remaining: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))
    available_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_in_range"),
        CheckConstraint("status IN ('pending', 'available', 'closed')", name="status_known"),
        Index("ix_loyalty_lots_spendable", "customer_id", "status", "expires_at"),
        # the overview's points expiring soon, the expiry job's lots past their date
        Index("ix_loyalty_lots_status_expires", "status", "expires_at"),
    )


class Entry(Base):
    """One ledger line. ``points``, ``pending_delta`` and ``owed_delta`` move the account's
    counters; ``spend`` moves qualifying spend for tiers. ``source_key`` makes every earn,
    clawback and reward idempotent (keyed by its order, return line or action)."""

    __tablename__ = "loyalty_entries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("loyalty_accounts.customer_id"))
    kind: Mapped[str] = mapped_column(String(10))
    points: Mapped[int] = mapped_column(default=0)
    pending_delta: Mapped[int] = mapped_column(default=0)
    owed_delta: Mapped[int] = mapped_column(default=0)
    spend: Mapped[Decimal] = mapped_column(Numeric(14, 3), default=Decimal(0))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_lots.id"))
    source_key: Mapped[str] = mapped_column(String(160), unique=True)
    reference: Mapped[str | None] = mapped_column(String(120))
    channel: Mapped[str | None] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    # The business time (the order's placing) that tier qualification periods count from.
    effective_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_loyalty_entries_account", "customer_id", "effective_at"),
        Index("ix_loyalty_entries_lot", "lot_id"),
        # The overview's points earned and redeemed lately: a range of each kind (0050).
        Index("ix_loyalty_entries_kind_effective", "kind", "effective_at"),
        CheckConstraint(
            "kind IN ('earn', 'release', 'reward', 'redeem', 'reverse', 'expire', 'adjust',"
            " 'clawback')",
            name="kind_known",
        ),
    )


class Redemption(Base):
    __tablename__ = "loyalty_redemptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("loyalty_accounts.customer_id"))
    points: Mapped[int]
    value: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    channel: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="applied")
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("status IN ('applied', 'reversed')", name="status_known"),
    )


class Coupon(Base):
    __tablename__ = "loyalty_coupons"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(200))
    discount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(10), default="issued")
    source_key: Mapped[str] = mapped_column(String(120), unique=True)
    issued_at: Mapped[datetime]
    valid_until: Mapped[datetime]
    redeemed_at: Mapped[datetime | None]
    redeemed_channel: Mapped[str | None] = mapped_column(String(40))
    redeemed_reference: Mapped[str | None] = mapped_column(String(120))

    __table_args__ = (
        CheckConstraint("status IN ('issued', 'redeemed', 'void')", name="status_known"),
        CheckConstraint("discount > 0", name="discount_positive"),
    )


class CouponGrant(Base):
    """A pricing coupon the programme issued to a customer: once per customer, kind and
    period (the year of a birthday, ``once`` for the welcome). The unique key is what makes a
    re-run or a second worker's sweep issue nothing."""

    __tablename__ = "loyalty_coupon_grants"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(10))
    coupon_code: Mapped[str] = mapped_column(String(40), unique=True)
    promotion: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(120))
    issued_at: Mapped[datetime]
    valid_until: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("customer_id", "kind", "period"),
        CheckConstraint("kind IN ('birthday', 'welcome')", name="kind_known"),
    )


class GoodwillDay(Base):
    """Goodwill points one person credited by hand on one (UTC) day, or one customer
    received from all staff together (``actor`` "to customer <id>", the surviving profile):
    counted by a conditional upsert, so parallel credits cannot pass the daily limits."""

    __tablename__ = "loyalty_goodwill_days"

    actor: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("points > 0", name="points_positive"),)
