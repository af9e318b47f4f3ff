"""Pydantic I/O for checkout, orders, payments and tracking; the order and line states."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from omniretail.catalog.schemas import Code
from omniretail.kernel.limits import EmailAddress, Id32, ShortText, Tiny
from omniretail.kernel.money import round_money
from omniretail.routing.schemas import FulfilmentMethod


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    channel: Code | None = Field(
        default=None,
        description="The channel the order is sold on and priced for (default: the cart's);"
        " its stock comes from the channel the cart reserved it on",
    )
    fulfilment: FulfilmentChoice
    payment: PaymentIn
    contact_email: EmailAddress | None = None


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
    net: Decimal | None = Field(default=None, description="This line's net at checkout")
    tax: Decimal | None = Field(default=None, description="This line's tax at checkout")
    pricing: dict[str, Any] | None = Field(
        default=None, description="Why this price: list, adjustments, tax class and rate"
    )

    @computed_field(  # type: ignore[prop-decorator]
        description="What the customer paid for the line's units (tax included, after"
        " promotions and coupons): the checkout's gross for the quantity it was priced for,"
        " shared by the units still on the line; unit price x quantity without a breakdown"
    )
    @property
    def paid(self) -> Decimal:
        return paid_amount(self.quantity, self.unit_price, self.net, self.tax, self.pricing)


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
    pickup_code_tries: int = Field(
        default=0,
        description="Pickup codes tried at the counter since it became ready for pickup",
    )
    pickup_code_tries_left: int | None = Field(
        default=None,
        description="Codes the counter may still try while it waits for pickup (0: the code"
        " is refused; hand over with an override and a reason)",
    )


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
    fee: dict[str, Any] | None = Field(
        default=None,
        description="The delivery or pickup fee charged (in ``total``); not refunded on returns",
    )


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


class TrackingLocation(BaseModel):
    code: str
    name: str
    address: str
    opening_hours: dict[str, str]


class TrackingFulfilment(BaseModel):
    method: FulfilmentMethod
    status: str
    promised_date: date
    # No pickup code: the link is shared and forwarded, and staff see it; the code is in the
    # owner's emails and account (``lookup.pickup_codes``).
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


def paid_amount(
    quantity: int,
    unit_price: Decimal,
    net: Decimal | None,
    tax: Decimal | None,
    pricing: dict[str, Any] | None,
) -> Decimal:
    """An order line's paid amount for its ``quantity``. Checkout stores the gross of the
    units it priced (``pricing["quantity"]``); units cancelled off the line later leave it
    with fewer units, so the gross is shared per unit, rounded to the currency."""
    if net is None or tax is None:
        return unit_price * quantity
    gross = Decimal(net) + Decimal(tax)
    priced_for = int((pricing or {}).get("quantity") or quantity)
    if priced_for <= 0 or priced_for == quantity:
        return gross
    currency = (pricing or {}).get("currency")
    share = gross * quantity / priced_for
    return round_money(share, str(currency)) if currency else share


def email_items(
    lines: Iterable[OrderLineRead], fee: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """An email's items (the ``notifications/_items`` partial): each line with what was paid
    for it (``line_total``), a cancelled line marked, and the fee charged, if any."""
    items: list[dict[str, Any]] = [
        {
            "name": ln.name or ln.sku,
            "quantity": ln.quantity,
            "line_total": ln.paid,
            **({"cancelled": True} if ln.status == "cancelled" else {}),
        }
        for ln in lines
    ]
    if fee:
        items.append({"name": fee.get("name") or "Fee", "line_total": Decimal(str(fee["gross"]))})
    return items
