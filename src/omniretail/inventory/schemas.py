"""Pydantic I/O for inventory, shared by the API, the CLI and the console."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omniretail.catalog.schemas import Code

Quantity = Field(gt=0, le=1_000_000_000, description="Units, a positive whole number")
Reason = Field(default=None, max_length=200)
Reference = Field(default=None, max_length=120)


class StockChange(BaseModel):
    sku: Code
    location: Code
    quantity: int = Quantity
    reason: str | None = Reason
    reference: str | None = Reference


class AdjustmentCreate(BaseModel):
    sku: Code
    location: Code
    quantity_delta: int = Field(ge=-1_000_000_000, le=1_000_000_000)
    reason: str = Field(min_length=1, max_length=200, description="Why, e.g. 'damaged in store'")
    reference: str | None = Reference

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentCreate:
        if self.quantity_delta == 0:
            raise ValueError("quantity_delta must not be zero")
        return self


class CountCreate(BaseModel):
    sku: Code
    location: Code
    counted_quantity: int = Field(ge=0, le=1_000_000_000)
    source: Literal["cycle_count", "sensor"] = "cycle_count"
    reference: str | None = Reference


class SaleCreate(BaseModel):
    sku: Code
    location: Code
    channel: Code
    quantity: int = Quantity
    reference: str | None = Reference


class ReservationCreate(SaleCreate):
    pass


class AllocationCreate(SaleCreate):
    pass


class AllocateReservation(BaseModel):
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


class PolicyWrite(BaseModel):
    safety_stock: int = Field(default=0, ge=0, le=1_000_000_000)
    reorder_point: int | None = Field(default=None, ge=0, le=1_000_000_000)
    order_up_to: int | None = Field(default=None, ge=0, le=1_000_000_000)

    @model_validator(mode="after")
    def _order_up_to_above_reorder_point(self) -> PolicyWrite:
        if self.order_up_to is not None and self.order_up_to < (self.reorder_point or 0):
            raise ValueError("order_up_to must be at least the reorder_point")
        return self


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


class TransferLineIn(BaseModel):
    sku: Code
    quantity: int = Quantity


class TransferCreate(BaseModel):
    from_location: Code
    to_location: Code
    lines: list[TransferLineIn] = Field(min_length=1, max_length=1000)
    reference: str | None = Reference

    @model_validator(mode="after")
    def _valid(self) -> TransferCreate:
        if self.from_location == self.to_location:
            raise ValueError("from_location and to_location must differ")
        skus = [line.sku for line in self.lines]
        if len(set(skus)) != len(skus):
            raise ValueError("each SKU may appear only once in a transfer")
        return self


class TransferRead(BaseModel):
    id: str
    from_location: str
    to_location: str
    status: Literal["requested", "in_transit", "received", "cancelled"]
    lines: list[TransferLineIn]
    reference: str | None
    requested_by: str
    created_at: datetime
    shipped_at: datetime | None
    received_at: datetime | None


class LocationAvailability(BaseModel):
    location: str
    available: int
    on_hand: int


class AvailabilityRead(BaseModel):
    sku: str
    channel: str | None
    available: int
    locations: list[LocationAvailability]


class AvailabilityQuery(BaseModel):
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
