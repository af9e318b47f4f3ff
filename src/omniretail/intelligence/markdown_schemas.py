"""Pydantic reads of markdown suggestions (the API, the console and the CLI)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

MarkdownStatus = Literal["suggested", "approved", "rejected"]


class MarkdownStepRead(BaseModel):
    step: int
    starts_on: date
    weeks: int
    discount: Decimal = Field(description="share of the full price off, 0.2 = 20 %")
    price: Decimal
    expected_units: float
    expected_revenue: Decimal
    price_list: str | None = Field(description="the scheduled price list, once approved")


class RealisedRead(BaseModel):
    since: date
    units: int = Field(description="net units sold of the SKU fulfilled from the location")
    expected_units_to_date: float = Field(description="the ladder's expectation for the weeks run")
    weeks_run: int


class MarkdownRead(BaseModel):
    id: int
    sku: str
    name: str | None = None
    category: str | None = None
    location: str
    channel: str
    currency: str
    status: MarkdownStatus
    full_price: Decimal
    unit_cost: Decimal | None
    on_hand: int
    forecast_units: float = Field(description="expected units at full price by clear_by")
    starts_on: date
    clear_by: date
    expected_units: float
    expected_revenue: Decimal
    baseline_units: float = Field(description="expected units without a markdown")
    baseline_revenue: Decimal
    expected_leftover: float
    clears: bool
    elasticity: float
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None


class MarkdownDetail(MarkdownRead):
    guardrails: dict[str, Any]
    steps: list[MarkdownStepRead]
    realised: RealisedRead | None = None


class SuggestRunRead(BaseModel):
    start: date
    clear_by: date
    candidates: int
    suggested: int
    elasticity: dict[str, Any]
