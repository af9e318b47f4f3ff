"""Result tables of the intelligence batch jobs. Each job replaces its table's snapshot in one
transaction, so readers see either the previous run or the new one."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base


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
