"""Pydantic I/O of dynamic pricing (API, console, CLI): rules, runs, proposals and changes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from omniretail.catalog.schemas import Code
from omniretail.kernel.limits import MAX_MONEY

RuleCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        min_length=1,
        max_length=60,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    ),
]
Percent = Annotated[Decimal, Field(max_digits=6, decimal_places=2)]
Money = Annotated[Decimal, Field(ge=0, le=MAX_MONEY, max_digits=13, decimal_places=3)]


class DynamicRuleWrite(BaseModel):
    """A rule: when ``condition`` holds for a SKU's facts on ``channel``, move its price by
    ``percent`` (negative lowers), within the guardrails. Floors and ceilings are absolute
    (``*_amount``, in the channel's currency) or a percent of the full price; when both are
    given the tighter one holds."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    channel: Code
    condition: str | None = Field(
        default=None, max_length=4000, description="CEL over the facts; none: always"
    )
    percent: Percent = Field(ge=-50, le=50, description="Step in percent; not 0")
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    floor_amount: Money | None = None
    floor_percent: Percent | None = Field(default=None, ge=0, le=1000)
    ceiling_amount: Money | None = Field(default=None, gt=0)
    ceiling_percent: Percent | None = Field(default=None, ge=1, le=1000)
    max_step_percent: Percent | None = Field(default=None, ge=Decimal("0.01"), le=50)
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> DynamicRuleWrite:
        if self.percent == 0:
            raise ValueError("percent must not be 0")
        if (
            self.floor_amount is not None
            and self.ceiling_amount is not None
            and self.floor_amount > self.ceiling_amount
        ):
            raise ValueError("floor_amount must not be above ceiling_amount")
        if (
            self.floor_percent is not None
            and self.ceiling_percent is not None
            and self.floor_percent > self.ceiling_percent
        ):
            raise ValueError("floor_percent must not be above ceiling_percent")
        return self


class DynamicRuleRead(BaseModel):
    code: str
    name: str
    channel: str
    condition: str | None
    percent: Decimal
    priority: int
    floor_amount: Decimal | None
    floor_percent: Decimal | None
    ceiling_amount: Decimal | None
    ceiling_percent: Decimal | None
    max_step_percent: Decimal | None
    active: bool
    created_at: datetime
    updated_at: datetime


class DynamicRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(default=False, description="Propose without changing any price")
    channel: Code | None = Field(default=None, description="Only this channel's rules")


class ProposalRead(BaseModel):
    """What a run decided for one SKU on one channel: a change, or why none."""

    sku: str
    channel: str
    currency: str
    rule: str | None
    old_price: Decimal
    new_price: Decimal | None
    changed: bool
    explanation: str
    facts: dict[str, Any]


class DynamicRunRead(BaseModel):
    id: str | None = Field(description="None for a dry run (nothing stored)")
    dry_run: bool
    actor: str
    started_at: datetime
    evaluated: int
    changed: int
    proposals: list[ProposalRead] = Field(default_factory=list)


class DynamicChangeRead(BaseModel):
    id: int
    run_id: str
    sku: str
    channel: str
    day: date
    price_list: str
    currency: str
    old_price: Decimal
    old_list: str | None
    new_price: Decimal
    rule: str
    facts: dict[str, Any]
    explanation: str
    actor: str
    at: datetime
    reverted_at: datetime | None
    reverted_by: str | None
