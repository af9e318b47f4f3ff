"""Pydantic I/O for fulfilment steps, the pickup sweep, returns and exchanges."""

from __future__ import annotations

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
