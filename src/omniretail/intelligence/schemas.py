"""Pydantic reads of the intelligence results (also embedded in the customer 360 and the
product reads at the API edge)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class RecommendedProduct(BaseModel):
    rank: int
    sku: str
    score: float


class RfmRead(BaseModel):
    recency_days: int | None = Field(description="days from the last purchase to as_of")
    frequency: int = Field(description="orders")
    monetary: float = Field(description="net product revenue, source currency")
    r_score: int | None = Field(description="1-5, 5 = most recent")
    f_score: int | None
    m_score: int | None


class ClvRead(BaseModel):
    expected_revenue: float | None = Field(description="expected net revenue over the horizon")
    horizon_weeks: int | None


class RecommendationsRead(BaseModel):
    source: Literal["personal", "popular"]
    personalised: bool
    reason: str | None = Field(
        description="why the popular list is shown: personalisation_withdrawn (the customer"
        " withdrew consent to personalisation) or no_personal_list (no purchase history yet)"
    )
    items: list[RecommendedProduct]


class CustomerIntelligence(BaseModel):
    """The customer 360's ``intelligence`` block (segment ``not_scored`` before the first
    batch run or for a profile created since)."""

    customer_id: int
    segment: str
    rfm: RfmRead | None
    clv: ClvRead | None
    p_alive: float | None = Field(description="probability the customer is still active")
    as_of: date | None = Field(description="the day the scores were computed for")
    computed_at: datetime | None
    recommendations: RecommendationsRead


class CustomerScoresRead(BaseModel):
    customer_id: int
    segment: str
    recency_days: int | None
    frequency: int
    monetary: float
    r_score: int | None
    f_score: int | None
    m_score: int | None
    expected_revenue: float | None
    p_alive: float | None
    horizon_weeks: int | None
    as_of: date | None
    computed_at: datetime | None
    personalised: bool
    recommendations: list[RecommendedProduct]


class ForecastPeriod(BaseModel):
    period_start: date
    quantity: float


class ReorderPolicy(BaseModel):
    location: str
    on_hand: int
    position: int = Field(description="on hand - reserved - allocated + in transit")
    safety_stock: int
    reorder_point: int | None
    order_up_to: int | None
    at_or_below_reorder_point: bool


class ProductIntelligenceRead(BaseModel):
    sku: str
    model: str | None
    computed_at: datetime | None
    forecast: list[ForecastPeriod] = Field(description="weekly units, from the last batch run")
    reorder_points: list[ReorderPolicy] = Field(description="per location with a stock record")
    bought_together: list[RecommendedProduct]


# Dynamic pricing's I/O (``intelligence.dynamic_pricing_schemas``), for the console.
from omniretail.intelligence.dynamic_pricing_schemas import (  # noqa: E402
    DynamicRuleRead as DynamicRuleRead,
)
from omniretail.intelligence.dynamic_pricing_schemas import (  # noqa: E402
    DynamicRuleWrite as DynamicRuleWrite,
)
