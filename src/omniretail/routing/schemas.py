"""Pydantic I/O for routing rules and simulations; the fulfilment methods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omniretail.catalog.schemas import Code
from omniretail.kernel.limits import MAX_INT32, Money
from omniretail.routing.engine import RuleSet as RuleSet
from omniretail.routing.methods import COLLECT_AT_SOURCE as COLLECT_AT_SOURCE
from omniretail.routing.methods import PICKUP_METHODS as PICKUP_METHODS
from omniretail.routing.methods import FulfilmentMethod as FulfilmentMethod

LineQuantity = Field(gt=0, le=999, strict=True, description="Units of the SKU")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
