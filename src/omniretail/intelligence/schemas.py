"""Pydantic reads of the intelligence results."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class RecommendedProduct(BaseModel):
    rank: int
    sku: str
    score: float


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
    reorder_point: int | None
    order_up_to: int | None
    on_hand: int


class ProductIntelligenceRead(BaseModel):
    sku: str
    model: str | None
    forecast: list[ForecastPeriod]
    reorder_points: list[ReorderPolicy]
    bought_together: list[RecommendedProduct]
