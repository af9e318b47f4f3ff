"""Result tables of the intelligence batch jobs. Each job replaces its table's snapshot in one
transaction, so readers see either the previous run or the new one."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK


class CustomerScore(Base):
    """RFM segment, lifetime value and churn of one customer."""

    __tablename__ = "customer_scores"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    segment: Mapped[str] = mapped_column(String(30), index=True)
    recency_days: Mapped[int | None]
    frequency: Mapped[int] = mapped_column(default=0)
    monetary: Mapped[float] = mapped_column(Float, default=0.0)
    r_score: Mapped[int | None]
    f_score: Mapped[int | None]
    m_score: Mapped[int | None]
    expected_revenue: Mapped[float | None] = mapped_column(Float)
    p_alive: Mapped[float | None] = mapped_column(Float)
    horizon_weeks: Mapped[int | None]
    as_of: Mapped[date] = mapped_column(Date)
    computed_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("p_alive IS NULL OR (p_alive >= 0 AND p_alive <= 1)", name="p_alive_range"),
        CheckConstraint("expected_revenue IS NULL OR expected_revenue >= 0", name="clv_ok"),
    )


class ProductForecast(Base):
    """Expected units of a SKU in the week starting ``period_start``."""

    __tablename__ = "product_forecasts"

    sku_code: Mapped[str] = mapped_column(ForeignKey("skus.code"), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    quantity: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(40))
    computed_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)


class Recommendation(Base):
    """Ranked products for a customer: ``kind`` 'next' (buy again or new) or 'new' (only
    products the customer never bought)."""

    __tablename__ = "recommendations"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    rank: Mapped[int] = mapped_column(primary_key=True)
    sku_code: Mapped[str] = mapped_column(ForeignKey("skus.code"))
    score: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("rank >= 1", name="rank_positive"),
        CheckConstraint("kind IN ('next', 'new')", name="kind_known"),
    )


class PopularProduct(Base):
    """The list shown to customers without history or without consent to personalisation."""

    __tablename__ = "popular_products"

    rank: Mapped[int] = mapped_column(primary_key=True)
    sku_code: Mapped[str] = mapped_column(ForeignKey("skus.code"))
    score: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime]


class ProductAssociation(Base):
    """ "Bought together": ``other_sku_code`` shares baskets with ``sku_code``."""

    __tablename__ = "product_associations"

    sku_code: Mapped[str] = mapped_column(ForeignKey("skus.code"), primary_key=True)
    rank: Mapped[int] = mapped_column(primary_key=True)
    other_sku_code: Mapped[str] = mapped_column(ForeignKey("skus.code"))
    score: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime]

    __table_args__ = (Index("ix_product_associations_other", "other_sku_code"),)


class MarkdownSuggestion(Base):
    """A price ladder suggested for slow stock of one SKU at one location; approved (its steps
    become scheduled price lists ``MD:<id>:<step>``) or rejected by a person, with when."""

    __tablename__ = "markdown_suggestions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    sku_code: Mapped[str] = mapped_column(ForeignKey("skus.code"), index=True)
    location_code: Mapped[str] = mapped_column(ForeignKey("locations.code"), index=True)
    channel_code: Mapped[str] = mapped_column(ForeignKey("channels.code"))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12), default="suggested")
    full_price: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    unit_cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    on_hand: Mapped[int]
    forecast_units: Mapped[float] = mapped_column(Float)  # at full price, start to clear-by
    starts_on: Mapped[date] = mapped_column(Date)
    clear_by: Mapped[date] = mapped_column(Date)
    expected_units: Mapped[float] = mapped_column(Float)
    expected_revenue: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    baseline_units: Mapped[float] = mapped_column(Float)
    baseline_revenue: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    expected_leftover: Mapped[float] = mapped_column(Float)
    clears: Mapped[bool]
    elasticity: Mapped[float] = mapped_column(Float)
    guardrails: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(120))

    __table_args__ = (
        CheckConstraint(
            "status IN ('suggested', 'approved', 'rejected')", name="markdown_status_known"
        ),
        CheckConstraint("on_hand >= 0 AND full_price >= 0", name="markdown_amounts"),
        Index("ix_markdown_suggestions_status", "status"),
    )


class MarkdownStep(Base):
    """One price of a ladder: ``discount`` off the full price from ``starts_on`` for
    ``weeks``; ``price_list_code`` once approved (none for a step at full price)."""

    __tablename__ = "markdown_steps"

    suggestion_id: Mapped[int] = mapped_column(
        ForeignKey("markdown_suggestions.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[int] = mapped_column(primary_key=True)
    starts_on: Mapped[date] = mapped_column(Date)
    weeks: Mapped[int]
    discount: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    price: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    expected_units: Mapped[float] = mapped_column(Float)
    expected_revenue: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    price_list_code: Mapped[str | None] = mapped_column(String(60))

    __table_args__ = (
        CheckConstraint("discount >= 0 AND discount < 1", name="markdown_discount_range"),
        CheckConstraint("weeks >= 1", name="markdown_weeks_positive"),
    )


# Dynamic pricing's tables live in their own module; imported here so the metadata has them.
from omniretail.intelligence.dynamic_pricing_models import (  # noqa: E402
    DynamicPriceChange as DynamicPriceChange,
)
from omniretail.intelligence.dynamic_pricing_models import (  # noqa: E402
    DynamicPriceRule as DynamicPriceRule,
)
from omniretail.intelligence.dynamic_pricing_models import (  # noqa: E402
    DynamicPriceRun as DynamicPriceRun,
)
