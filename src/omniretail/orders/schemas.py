"""Pydantic I/O for carts, options, routing, checkout, orders and tracking."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omniretail.catalog.schemas import Code
from omniretail.kernel.limits import MAX_INT32, Id, Id32, Money, ShortText, Tiny
from omniretail.orders.models import FulfilmentMethod
from omniretail.orders.routing import RuleSet

LineQuantity = Field(gt=0, le=999, strict=True, description="Units of the SKU")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- carts -----------------------------------------------------------------------------------


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
    line_total: Decimal | None
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
    total: Decimal
    currency: str = "GBP"
    order_number: str | None
    merged_into: str | None
    created_at: datetime
    updated_at: datetime


# --- fulfilment options ---------------------------------------------------------------------


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


# --- routing ---------------------------------------------------------------------------------


class SimulationLine(_In):
    sku: Code
    quantity: int = LineQuantity


class RoutingSimulate(_In):
    channel: Code
    method: FulfilmentMethod = FulfilmentMethod.SHIP_TO_HOME
    lines: list[SimulationLine] = Field(min_length=1, max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    pickup_location: Code | None = None
    exclude: list[Code] = Field(default_factory=list, max_length=200)
    order_value: Money | None = None
    version: int | None = Field(
        default=None,
        ge=0,
        le=MAX_INT32,
        description="Default: the rules in force; 0 = built-in defaults",
    )
    rules: RuleSet | None = Field(default=None, description="Try a draft instead of a version")


class CandidateRead(BaseModel):
    location: str
    kind: str
    eligible: bool
    excluded_by: list[str]
    rank: int | None
    distance_km: float | None
    stock_depth: int
    reserved_here: int
    cost: float


class AssignmentRead(BaseModel):
    location: str
    method: FulfilmentMethod
    pickup_location: str | None
    lines: list[dict[str, Any]]
    why: str


class DecisionRead(BaseModel):
    ok: bool
    method: FulfilmentMethod
    rule_version: int
    summary: str
    max_splits: int
    assignments: list[AssignmentRead]
    unplaced: list[dict[str, Any]]
    candidates: list[CandidateRead]


class RuleSetWrite(_In):
    name: str = Field(min_length=1, max_length=120)
    rules: RuleSet


class RuleSetRead(BaseModel):
    version: int
    name: str
    rules: RuleSet
    created_by: str
    created_at: datetime | None


# --- prices ----------------------------------------------------------------------------------


class PriceWrite(_In):
    price: Money


class PriceRead(BaseModel):
    sku: str
    channel: str
    price: Decimal
    updated_at: datetime


# --- checkout and orders ---------------------------------------------------------------------


class FulfilmentChoice(_In):
    method: FulfilmentMethod
    pickup_location: Code | None = Field(default=None, description="Store or locker to collect")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    address: dict[Tiny, ShortText] = Field(default_factory=dict, max_length=20)

    @model_validator(mode="after")
    def _pickup_needs_location(self) -> FulfilmentChoice:
        if self.method is not FulfilmentMethod.SHIP_TO_HOME and not self.pickup_location:
            raise ValueError(f"{self.method.value} needs pickup_location")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class PaymentIn(_In):
    provider_token: str = Field(
        min_length=1, max_length=120, description="A token from the payment provider"
    )


class CheckoutCreate(_In):
    channel: Code | None = Field(default=None, description="Default: the cart's channel")
    fulfilment: FulfilmentChoice
    payment: PaymentIn
    contact_email: str | None = Field(default=None, max_length=320)


class OrderLineRead(BaseModel):
    line_no: int
    sku: str | None
    name: str | None
    quantity: int
    unit_price: Decimal
    status: str | None
    fulfilment_id: str | None
    quantity_returned: int
    returnable: int


class FulfilmentRead(BaseModel):
    id: str
    method: FulfilmentMethod
    status: str
    location: str
    pickup_location: str | None
    promised_date: date
    ready_at: datetime | None
    collect_by: datetime | None
    reminders_sent: int
    carrier: str | None
    tracking_number: str | None
    transfer_id: str | None
    reason: str | None
    next_steps: list[str]


class PendingPayment(BaseModel):
    """A capture, void or refund recorded with the order but not yet confirmed by the
    provider (the outbox relay carries it out)."""

    action: Literal["capture", "void", "refund"]
    amount: Decimal
    requested_at: datetime


class PaymentRead(BaseModel):
    provider: str | None
    reference: str | None
    authorised: Decimal | None
    captured: Decimal | None
    voided: Decimal | None
    refunded: Decimal | None = None
    pending: list[PendingPayment] = Field(
        default_factory=list, description="Requested of the provider, not yet confirmed"
    )


class OrderRead(BaseModel):
    number: str
    status: str
    channel: str
    customer_id: int | None
    currency: str
    total: Decimal
    placed_at: datetime
    tracking_url: str | None
    contact_email: str | None
    delivery: dict[str, Any] | None
    payment: PaymentRead
    routing_version: int | None
    lines: list[OrderLineRead]
    fulfilments: list[FulfilmentRead]


class ShipBody(_In):
    carrier: str | None = Field(default=None, max_length=60)
    tracking_number: str | None = Field(default=None, max_length=120)


class RejectBody(_In):
    reason: Literal["out_of_stock", "damaged", "over_capacity"]
    note: str | None = Field(default=None, max_length=200)


class CollectBody(_In):
    pickup_code: str | None = Field(default=None, min_length=1, max_length=12)
    override_reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=200,
        description="Hand over without the code (e.g. 'ID checked: passport'); logged",
    )

    @model_validator(mode="after")
    def _code_or_override(self) -> CollectBody:
        if not self.pickup_code and not self.override_reason:
            raise ValueError("give the pickup_code, or an override_reason for a logged override")
        return self


class CancelLine(_In):
    line_no: Id32
    quantity: int | None = Field(
        default=None, gt=0, le=999, strict=True, description="Default: all its open units"
    )


class CancelBody(_In):
    line_nos: list[Id32] | None = Field(
        default=None, min_length=1, max_length=500, description="Whole lines"
    )
    lines: list[CancelLine] | None = Field(
        default=None, min_length=1, max_length=500, description="Lines, or some of their units"
    )
    reason: str = Field(default="customer request", min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_way(self) -> CancelBody:
        if self.line_nos is not None and self.lines is not None:
            raise ValueError("give line_nos or lines, not both (neither: the whole order)")
        return self

    def named_line_nos(self) -> list[int] | None:
        """The line numbers named by either field; None: the whole order."""
        if self.lines is not None:
            return [item.line_no for item in self.lines]
        return self.line_nos


class LogEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    fulfilment_id: str | None
    action: str
    from_status: str | None
    to_status: str | None
    actor: str
    detail: dict[str, Any]
    created_at: datetime


class SweepReport(BaseModel):
    reminded: int
    returned_to_stock: int


# --- tracking --------------------------------------------------------------------------------


class TrackingLocation(BaseModel):
    code: str
    name: str
    address: str
    opening_hours: dict[str, str]


class TrackingFulfilment(BaseModel):
    method: FulfilmentMethod
    status: str
    promised_date: date
    pickup_code: str | None
    collect_by: datetime | None
    carrier: str | None
    tracking_number: str | None
    pickup_location: TrackingLocation | None
    lines: list[dict[str, Any]]


class TrackingRead(BaseModel):
    number: str
    status: str
    placed_at: datetime
    total: Decimal
    currency: str
    fulfilments: list[TrackingFulfilment]


# --- returns ---------------------------------------------------------------------------------


class ReturnLine(_In):
    line_no: Id32
    quantity: int = LineQuantity
    condition: Literal["sellable", "damaged"] = "sellable"
    reason: str | None = Field(default=None, max_length=200)


class ReturnCreate(_In):
    location: Code = Field(description="Where the items are handed in (store or returns desk)")
    lines: list[ReturnLine] = Field(min_length=1, max_length=200)


class ExchangeLine(_In):
    sku: Code
    quantity: int = LineQuantity


class ExchangeCreate(_In):
    location: Code = Field(description="The store where the exchange happens")
    returns: list[ReturnLine] = Field(min_length=1, max_length=200)
    new_lines: list[ExchangeLine] = Field(min_length=1, max_length=200)
    channel: Code | None = Field(
        default=None, description="Prices and sale channel (default: the order's)"
    )
