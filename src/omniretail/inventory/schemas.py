"""Pydantic I/O for inventory, shared by the API, the CLI and the console."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema

from omniretail.catalog.schemas import Code

Quantity = Field(gt=0, le=1_000_000_000, description="Units, a positive whole number")
Reason = Field(default=None, max_length=200)
Reference = Field(default=None, max_length=120)


class Input(BaseModel):
    """A request body: strict types (``"2"`` or ``true`` is not a quantity) and no unknown
    fields, so a typo is reported instead of silently ignored."""

    model_config = ConfigDict(strict=True, extra="forbid")


class StockChange(Input):
    sku: Code
    location: Code
    quantity: int = Quantity
    reason: str | None = Reason
    reference: str | None = Reference


class AdjustmentCreate(Input):
    sku: Code
    location: Code
    quantity_delta: int = Field(ge=-1_000_000_000, le=1_000_000_000)
    reason: str = Field(min_length=1, max_length=200, description="Why, e.g. 'damaged in store'")
    reference: str | None = Reference

    @field_validator("quantity_delta")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("quantity_delta must not be zero")
        return value


class CountCreate(Input):
    sku: Code
    location: Code
    counted_quantity: int = Field(ge=0, le=1_000_000_000)
    source: Literal["cycle_count", "sensor"] = "cycle_count"
    reference: str | None = Reference


class SaleCreate(Input):
    sku: Code
    location: Code
    channel: Code
    quantity: int = Quantity
    reference: str | None = Reference


class ReservationCreate(SaleCreate):
    pass


class AllocationCreate(SaleCreate):
    pass


class AllocateReservation(Input):
    reference: str | None = Reference


class HoldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: Literal["cart", "order"]
    status: Literal["active", "released", "expired", "sold", "fulfilled"]
    sku: str
    location: str
    channel: str
    quantity: int
    reference: str | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class StockLevelRead(BaseModel):
    sku: str
    location: str
    on_hand: int
    reserved: int
    allocated: int
    in_transit: int
    safety_stock: int
    available: int = Field(description="Available to promise: on hand - held - safety stock")
    reorder_point: int | None
    order_up_to: int | None


class PolicyWrite(Input):
    safety_stock: int = Field(default=0, ge=0, le=1_000_000_000)
    reorder_point: int | None = Field(default=None, ge=0, le=1_000_000_000)
    order_up_to: int | None = Field(default=None, ge=0, le=1_000_000_000)

    @field_validator("order_up_to")
    @classmethod
    def _order_up_to_above_reorder_point(
        cls, value: int | None, info: ValidationInfo
    ) -> int | None:
        if value is not None and value < (info.data.get("reorder_point") or 0):
            raise ValueError("order_up_to must be at least the reorder_point")
        return value


class MovementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    location: str
    kind: str
    on_hand_delta: int
    reserved_delta: int
    allocated_delta: int
    in_transit_delta: int
    reason: str | None
    actor: str
    reference: str | None
    created_at: datetime


class TransferLineIn(Input):
    sku: Code
    quantity: int = Quantity


class TransferCreate(Input):
    from_location: Code
    to_location: Code
    lines: list[TransferLineIn] = Field(min_length=1, max_length=1000)
    reference: str | None = Reference

    @field_validator("to_location")
    @classmethod
    def _distinct_ends(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("from_location"):
            raise ValueError("from_location and to_location must differ")
        return value

    @field_validator("lines")
    @classmethod
    def _each_sku_once(cls, lines: list[TransferLineIn]) -> list[TransferLineIn]:
        skus = [line.sku for line in lines]
        if len(set(skus)) != len(skus):
            raise ValueError("each SKU may appear only once in a transfer")
        return lines


class TransferReceive(Input):
    """What arrived: per SKU the units received now (a part of what is still due is a partial
    receipt; the transfer stays in transit until every unit is in). No lines: all that is
    due."""

    lines: list[TransferLineIn] = Field(default_factory=list, max_length=1000)

    @field_validator("lines")
    @classmethod
    def _each_sku_once(cls, lines: list[TransferLineIn]) -> list[TransferLineIn]:
        skus = [line.sku for line in lines]
        if len(set(skus)) != len(skus):
            raise ValueError("each SKU may appear only once in a receipt")
        return lines


class TransferLineRead(BaseModel):
    sku: str
    quantity: int
    received: int = Field(description="units received so far")


class TransferRead(BaseModel):
    id: str
    from_location: str
    to_location: str
    status: Literal["requested", "in_transit", "received", "cancelled"]
    lines: list[TransferLineRead]
    reference: str | None
    requested_by: str
    created_at: datetime
    shipped_at: datetime | None
    received_at: datetime | None


class LocationAvailability(BaseModel):
    location: str
    available: int
    on_hand: int
    # Units held in carts (expired holds not yet released included): for the lazy release of
    # expired holds, which has nothing to do where none are. Not part of the answer.
    reserved: SkipJsonSchema[int] = Field(default=0, exclude=True)


class AvailabilityRead(BaseModel):
    sku: str
    channel: str | None
    available: int
    locations: list[LocationAvailability]


class AvailabilityQuery(Input):
    skus: list[Code] = Field(min_length=1, max_length=1000)
    channel: Code | None = None
    locations: list[Code] | None = Field(default=None, max_length=1000)


class NearbyStock(BaseModel):
    location: str
    name: str
    kind: str
    address: str
    latitude: float
    longitude: float
    distance_km: float
    available: int
    opening_hours: dict[str, str]


class DriftRow(BaseModel):
    sku: str
    location: str
    counter: str
    stored: int
    expected: int
    source: Literal["ledger", "holds", "transfers"]


class VerifyReport(BaseModel):
    checked: int
    drift: list[DriftRow]

    @property
    def ok(self) -> bool:
        return not self.drift


class SweepResult(BaseModel):
    released: int
