"""Pydantic I/O for carts, channel prices and fulfilment options."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from omniretail.catalog.schemas import Code
from omniretail.kernel.limits import Id, Money
from omniretail.pricing.schemas import AdjustmentRead, PricedFeeRead
from omniretail.routing.schemas import FulfilmentMethod, LineQuantity


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CartCreate(_In):
    channel: Code
    customer_id: Id | None = None


class CartLineAdd(_In):
    sku: Code
    quantity: int = LineQuantity
    location: Code | None = Field(
        default=None, description="Reserve here (e.g. the store the customer stands in)"
    )
    channel: Code | None = Field(default=None, description="Default: the cart's channel")


class CartLineUpdate(_In):
    quantity: int = Field(ge=0, le=999, strict=True, description="0 removes the line")
    location: Code | None = None
    channel: Code | None = None


class CartAttach(_In):
    customer_id: Id


class LineAlternative(BaseModel):
    location: str
    available: int


class LineProblem(BaseModel):
    code: Literal["out_of_stock", "reservation_lapsed", "no_price", "sku_inactive", "not_sold_here"]
    detail: str
    available_here: int
    available_in_channel: int
    alternatives: list[LineAlternative] = Field(
        default_factory=list, description="Locations that could serve the full quantity"
    )
    max_quantity: int = Field(description="The most this line could hold at one location now")


class CartLineRead(BaseModel):
    sku: str
    name: str | None
    quantity: int
    location: str
    hold_id: str | None
    hold_expires_at: datetime | None = None
    unit_price: Decimal | None
    line_total: Decimal | None = Field(description="What the line costs, tax included")
    net: Decimal | None = None
    tax: Decimal | None = None
    tax_rate: Decimal | None = None
    price_list: str | None = Field(default=None, description="Why this price: its list")
    price_list_name: str | None = None
    adjustments: list[AdjustmentRead] = Field(default_factory=list)
    problem: LineProblem | None = None


class CartRead(BaseModel):
    token: str
    id: str
    customer_id: int | None
    status: str
    channel: str
    price_channel: str
    version: int
    lines: list[CartLineRead]
    total: Decimal = Field(description="What the cart costs, tax included")
    net_total: Decimal
    tax_total: Decimal
    currency: str
    prices_include_tax: bool
    order_number: str | None
    coupons: list[str] = Field(default_factory=list, description="Coupon codes applied")
    discounts: list[AdjustmentRead] = Field(
        default_factory=list, description="Order-level promotions (shared over the lines)"
    )
    fee: PricedFeeRead | None = Field(
        default=None, description="The chosen method's delivery or pickup fee (in the total)"
    )
    merged_into: str | None
    created_at: datetime
    updated_at: datetime


class FulfilmentOption(BaseModel):
    method: FulfilmentMethod
    available: bool
    location: str | None = Field(default=None, description="Pickup store or locker")
    location_name: str | None = None
    address: str | None = None
    distance_km: float | None = None
    promise_date: date | None = None
    ready_by: datetime | None = None
    sources: list[str] = Field(default_factory=list, description="Locations that would send")
    detail: str


class OptionsRead(BaseModel):
    channel: str
    lines: list[dict[str, Any]]
    options: list[FulfilmentOption]


class PriceWrite(_In):
    price: Money


class PriceRead(BaseModel):
    sku: str
    channel: str
    price: Decimal
    updated_at: datetime
