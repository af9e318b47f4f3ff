"""Pydantic I/O for fulfilment steps, the pickup sweep, returns, exchanges and return
requests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omniretail.catalog.schemas import Code
from omniretail.kernel.limits import Id32
from omniretail.routing.schemas import LineQuantity


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


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

    @property
    def tries_code(self) -> bool:
        """A code to compare (no override): counted as a try first (``try_pickup_code``)."""
        return self.pickup_code is not None and self.override_reason is None


class SweepReport(BaseModel):
    reminded: int
    returned_to_stock: int


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


# --- return requests (return authorisations) -------------------------------------------------

ReturnReason = Literal[
    "changed_mind", "wrong_size", "faulty", "not_as_described", "wrong_item", "arrived_late"
]
# What the shop shows for each reason.
RETURN_REASONS: dict[str, str] = {
    "changed_mind": "Changed my mind",
    "wrong_size": "Wrong size or fit",
    "faulty": "Faulty or damaged",
    "not_as_described": "Not as described",
    "wrong_item": "Wrong item sent",
    "arrived_late": "Arrived too late",
}
ReturnMethodName = Literal["post", "in_store"]


class RequestLine(_In):
    line_no: Id32
    quantity: int = LineQuantity


class ReturnRequestCreate(_In):
    method: ReturnMethodName = Field(
        description="post: a parcel to the returns desk; in_store: handed in at any store"
    )
    reason: ReturnReason
    lines: list[RequestLine] = Field(min_length=1, max_length=200)


class ReceivedLine(_In):
    line_no: Id32
    condition: Literal["sellable", "damaged"] = "sellable"


class ReturnRequestReceive(_In):
    location: Code = Field(description="Where the items were handed in or the parcel arrived")
    lines: list[ReceivedLine] = Field(
        default_factory=list,
        max_length=200,
        description="The condition of lines that are not sellable; the others are sellable",
    )


class ReturnRequestLineRead(BaseModel):
    line_no: int
    sku: str
    name: str | None
    quantity: int
    unit_price: Decimal = Field(description="The list price of a unit")
    paid: Decimal = Field(
        description="What these units were paid (after promotions and coupons): their refund"
    )


class ReturnDesk(BaseModel):
    code: str
    name: str
    address: str


class ReturnRequestRead(BaseModel):
    code: str
    order: str
    method: ReturnMethodName
    reason: str
    reason_label: str
    status: Literal["open", "received", "cancelled", "expired"]
    destination: ReturnDesk | None
    currency: str
    value: Decimal = Field(description="What the refund will be once the items are received")
    created_at: datetime
    expires_at: datetime
    received_at: datetime | None
    received_location: str | None
    return_id: str | None
    lines: list[ReturnRequestLineRead]


# --- refunds (what a return or an exchange refunded, with the tax per line) ----------------


class RefundLineRead(BaseModel):
    line_no: int
    sku: str | None
    name: str | None
    quantity: int
    paid: Decimal = Field(description="What these units were paid (tax included), prorated")
    amount: Decimal = Field(description="What is refunded for them (tax included)")
    net: Decimal | None
    tax: Decimal | None
    tax_rate: Decimal | None = Field(description="The line's tax rate at the sale (0.2: 20 %)")
    tax_name: str | None


class KeptBackRead(BaseModel):
    name: str = Field(description="The promotion the kept items no longer get (in full)")
    amount: Decimal
    note: str = Field(description="What the customer reads")


class RefundRead(BaseModel):
    order: str
    return_id: str
    kind: Literal["return", "exchange"]
    location: str | None
    currency: str
    amount: Decimal = Field(description="Refunded to the original payment (tax included)")
    paid: Decimal | None = Field(description="What the returned units were paid")
    net: Decimal | None
    tax: Decimal | None
    kept_back: list[KeptBackRead] = Field(
        description="Discounts the kept items no longer qualify for, taken off the refund"
    )
    lines: list[RefundLineRead]
    created_at: datetime
