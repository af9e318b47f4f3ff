"""Dynamic pricing tables: the rules (CEL condition over a SKU's facts + a percent step +
guardrails), the runs, and the change log. ``dynamic_price_changes`` holds at most one change
per SKU, channel and day (a unique key, so two runs at once cannot both change a price)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK

# The price list each channel's dynamic prices live in (above the channel's own list).
DYNAMIC_LIST_PREFIX = "DYN:"
DYNAMIC_LIST_PRIORITY = 100


class DynamicPriceRule(Base):
    """When ``condition`` (CEL over the facts, ``dynamic_pricing``) holds for a SKU on
    ``channel``, move its price by ``percent``, within the rule's floor, ceiling and largest
    step (and the global ones)."""

    __tablename__ = "dynamic_price_rules"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    channel_code: Mapped[str] = mapped_column(ForeignKey("channels.code"))
    condition: Mapped[str | None] = mapped_column(Text)
    percent: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    priority: Mapped[int] = mapped_column(default=0)
    floor_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    floor_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    ceiling_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    ceiling_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    max_step_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("percent <> 0 AND percent BETWEEN -50 AND 50", name="percent_range"),
        CheckConstraint("priority BETWEEN -1000000 AND 1000000", name="priority_range"),
        CheckConstraint("floor_amount IS NULL OR floor_amount >= 0", name="floor_amount"),
        CheckConstraint("ceiling_amount IS NULL OR ceiling_amount > 0", name="ceiling_amount"),
        CheckConstraint(
            "floor_percent IS NULL OR floor_percent BETWEEN 0 AND 1000", name="floor_percent"
        ),
        CheckConstraint(
            "ceiling_percent IS NULL OR ceiling_percent BETWEEN 1 AND 1000", name="ceiling_percent"
        ),
        CheckConstraint(
            "max_step_percent IS NULL OR max_step_percent BETWEEN 0.01 AND 50", name="max_step"
        ),
        Index("ix_dynamic_price_rules_channel", "channel_code", "active"),
    )


class DynamicPriceRun(Base):
    """One applied run (dry runs are not stored)."""

    __tablename__ = "dynamic_price_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    evaluated: Mapped[int] = mapped_column(default=0)
    changed: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_dynamic_price_runs_started", "started_at"),)


class DynamicPriceChange(Base):
    """A price a rule changed: from ``old_price`` (from list ``old_list``) to ``new_price`` in
    the channel's dynamic list, with the facts it saw and why, in words."""

    __tablename__ = "dynamic_price_changes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("dynamic_price_runs.id"), index=True)
    sku_code: Mapped[str] = mapped_column(ForeignKey("skus.code"))
    channel_code: Mapped[str] = mapped_column(ForeignKey("channels.code"))
    day: Mapped[date] = mapped_column(Date)
    list_code: Mapped[str] = mapped_column(String(60))
    currency: Mapped[str] = mapped_column(String(3))
    old_price: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    old_list: Mapped[str | None] = mapped_column(String(60))
    new_price: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    rule_code: Mapped[str] = mapped_column(String(60))
    facts: Mapped[dict[str, Any]]
    explanation: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    reverted_at: Mapped[datetime | None]
    reverted_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        # At most one change per SKU per channel per day, whoever runs and however often.
        UniqueConstraint("sku_code", "channel_code", "day"),
        CheckConstraint("old_price >= 0 AND new_price >= 0", name="prices_not_negative"),
        Index("ix_dynamic_price_changes_channel_at", "channel_code", "at"),
    )
