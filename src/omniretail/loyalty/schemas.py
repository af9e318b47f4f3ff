"""Pydantic I/O for loyalty, including the programme rules (held as data, versioned)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from omniretail.kernel.limits import MAX_MONEY, Id, ShortText, Timestamp, TimeZoneName, Tiny

# The most points one request moves (a redemption, an adjustment, a bonus).
MAX_POINTS = 10_000_000
# Earn rates and point values: far above any real programme's.
MAX_RATE = Decimal(1_000_000)
Rate = Annotated[Decimal, Field(ge=0, le=MAX_RATE)]


class TierRule(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    threshold: Decimal = Field(ge=0, le=MAX_MONEY, description="qualifying spend over the period")
    multiplier: Decimal = Field(default=Decimal(1), ge=1, le=10)


class Campaign(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    starts_at: Timestamp
    ends_at: Timestamp
    multiplier: Decimal = Field(default=Decimal(1), ge=1, le=10)
    bonus_points: int = Field(default=0, ge=0, le=MAX_POINTS)
    channels: list[Tiny] = Field(
        default_factory=list, max_length=100, description="empty: every channel"
    )
    categories: list[ShortText] = Field(
        default_factory=list, max_length=100, description="empty: every category"
    )


class CouponRule(BaseModel):
    """A coupon the programme gives (on a birthday, on joining). With ``promotion`` it is a
    pricing coupon: a code of the customer's own, usable once, that unlocks that promotion
    (e.g. ``BIRTHDAY10``, 10 % off) at the shop's checkout and the till like any coupon.
    Without, a loyalty coupon worth ``discount`` (redeemed through ``/loyalty/coupons``)."""

    discount: Decimal | None = Field(
        default=None, gt=0, le=MAX_MONEY, max_digits=12, decimal_places=2
    )
    promotion: str | None = Field(
        default=None,
        min_length=1,
        max_length=60,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
        description="The pricing promotion the coupon unlocks",
    )
    description: str | None = Field(
        default=None, max_length=120, description="What the customer reads (default: by kind)"
    )
    valid_days: int = Field(default=30, ge=1, le=366)

    @model_validator(mode="after")
    def _one_benefit(self) -> CouponRule:
        if (self.discount is None) == (self.promotion is None):
            raise ValueError("a coupon rule gives either a discount or a promotion")
        return self


class ProgrammeRules(BaseModel):
    currency: str = Field(default="GBP", min_length=3, max_length=3)
    points_per_unit: Decimal = Field(default=Decimal(1), ge=0, le=MAX_RATE)
    points_per_unit_by_channel: dict[Tiny, Rate] = Field(default_factory=dict, max_length=100)
    points_per_unit_by_category: dict[ShortText, Rate] = Field(
        default_factory=dict, max_length=1000
    )
    tiers: list[TierRule] = Field(
        default_factory=lambda: [
            TierRule(name="Bronze", threshold=Decimal(0)),
            TierRule(name="Silver", threshold=Decimal(500), multiplier=Decimal("1.25")),
            TierRule(name="Gold", threshold=Decimal(2000), multiplier=Decimal("1.5")),
        ],
        min_length=1,
        max_length=20,
    )
    qualification_days: int = Field(default=365, ge=1, le=36_600)
    return_window_days: int = Field(default=30, ge=0, le=36_600)
    expiry_days: int = Field(default=730, ge=1, le=36_600)
    point_value: Decimal = Field(
        default=Decimal("0.01"), gt=0, le=MAX_RATE, description="money per point"
    )
    welcome_points: int = Field(default=100, ge=0, le=MAX_POINTS)
    birthday_coupon: CouponRule | None = Field(
        default_factory=lambda: CouponRule(discount=Decimal("5.00"))
    )
    birthday_on_file_days: int = Field(
        default=30,
        ge=0,
        le=366,
        description="Days a changed birth date waits before its birthday coupon (0: none)",
    )
    welcome_coupon: CouponRule | None = Field(
        default=None, description="A coupon given once, when the customer joins"
    )
    actions: dict[Tiny, Annotated[int, Field(ge=0, le=MAX_POINTS)]] = Field(
        default_factory=lambda: {"review": 20, "app_install": 50, "referral": 200},
        max_length=100,
    )
    campaigns: list[Campaign] = Field(default_factory=list, max_length=100)
    timezone: TimeZoneName = "Europe/London"

    @model_validator(mode="after")
    def _tiers_ordered(self) -> ProgrammeRules:
        thresholds = [t.threshold for t in self.tiers]
        if thresholds != sorted(thresholds) or thresholds[0] != 0:
            raise ValueError("tiers must start at threshold 0 and rise")
        return self


class ProgrammeRead(BaseModel):
    version: int
    active: bool
    rules: ProgrammeRules
    created_at: datetime
    created_by: str


class OrderLineEarn(BaseModel):
    line_id: int
    amount: Decimal
    quantity: int
    category: str | None = None
    sku: str | None = None


class ExtraPoints(BaseModel):
    """Points a promotion adds to an order ("Double points weekend: +120")."""

    name: str
    source: str
    points: int = Field(gt=0)


class OrderLineRef(BaseModel):
    """An order line as the orders domain's events name it (cancelled or returned units)."""

    line_no: int
    sku: str | None = None
    quantity: int = Field(gt=0)
    # Units cancelled off a line are split into a new line; this names the line they left.
    from_line_no: int | None = None


class OrderEarn(BaseModel):
    """A purchase as loyalty needs it (fed by the orders domain or the history backfill)."""

    customer_id: int
    order_reference: str
    channel: str
    placed_at: datetime
    lines: list[OrderLineEarn]
    excluded_line_ids: list[int] = Field(
        default_factory=list, description="lines already cancelled when the order earned"
    )
    extra_points: list[ExtraPoints] = Field(
        default_factory=list, description="points promotions added at checkout"
    )


class ReturnLine(BaseModel):
    return_line_key: str = Field(min_length=1, max_length=80)
    order_reference: str
    order_line_id: int
    quantity: int = Field(gt=0)


class RedemptionCreate(BaseModel):
    points: int = Field(gt=0, le=MAX_POINTS)
    channel: str = Field(min_length=1, max_length=40)
    reference: str | None = Field(
        default=None, max_length=120, description="the checkout or basket it pays towards"
    )
    presence_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=12,
        description=(
            "staff spending a customer's points: the code sent to the customer for this"
            " reference and these points (POST /loyalty/customers/{customer_id}/presence-codes),"
            " read out by them; 403 without it. The signed-in customer spending their own"
            " needs none."
        ),
    )


class PresenceCodeRequest(BaseModel):
    points: int = Field(
        gt=0,
        le=MAX_POINTS,
        description="the points the customer agrees to spend (told in the message): the code"
        " spends exactly these",
    )
    reference: str | None = Field(
        default=None,
        max_length=120,
        description="the checkout or basket the points will pay towards: the code is for it only",
    )


class RedemptionRead(BaseModel):
    id: str
    customer_id: int
    points: int
    value: Decimal
    channel: str
    reference: str | None
    status: str
    created_at: datetime


class ActionCreate(BaseModel):
    action: str = Field(min_length=1, max_length=40)
    reference: str | None = Field(default=None, max_length=120)


class AdjustmentCreate(BaseModel):
    points: int = Field(
        ge=-MAX_POINTS, le=MAX_POINTS, description="positive credits, negative debits"
    )
    reason: str = Field(min_length=3, max_length=200)

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentCreate:
        if self.points == 0:
            raise ValueError("an adjustment moves at least one point")
        return self


class EntryRead(BaseModel):
    id: int
    customer_id: int
    kind: str
    points: int
    pending_delta: int
    owed_delta: int
    spend: Decimal
    lot_id: int | None
    reference: str | None
    channel: str | None
    actor: str
    created_at: datetime
    effective_at: datetime
    data: dict[str, Any]


class LotRead(BaseModel):
    id: int
    customer_id: int
    points: int
    remaining: int
    status: str
    available_at: datetime
    expires_at: datetime


class TierProgress(BaseModel):
    tier: str
    multiplier: Decimal
    qualifying_spend: Decimal
    next_tier: str | None
    to_next_tier: Decimal | None
    progress: str
    basis: str | None = Field(
        default=None,
        description="The spend and period the tier is read from, e.g. 'qualifying spend £120"
        " from 2025-12-04 to 2026-12-04' (or 'no qualifying spend from ...')",
    )
    period_start: datetime | None = Field(
        default=None, description="Qualifying spend counts purchases after this time"
    )
    period_end: datetime | None = Field(default=None, description="... up to this time")
    qualifies_for: str | None = Field(
        default=None,
        description="The tier the period's spend reaches; differs from tier until the stored"
        " tier is re-evaluated (at the next purchase or return)",
    )


class AccountRead(BaseModel):
    customer_id: int
    enrolled: bool
    available: int
    pending: int
    owed: int
    value: Decimal
    tier: TierProgress
    next_expiry: datetime | None
    next_expiry_points: int
    accounts: list[int] = Field(description="the cluster's accounts whose points add up here")


class CouponRead(BaseModel):
    code: str
    customer_id: int | None
    kind: str
    description: str
    discount: Decimal
    status: str
    issued_at: datetime
    valid_until: datetime
    redeemed_at: datetime | None
    redeemed_channel: str | None


class RewardCouponRead(BaseModel):
    """A pricing coupon the programme gave a customer (birthday, welcome)."""

    code: str
    customer_id: int
    kind: str
    period: str
    promotion: str
    description: str
    issued_at: datetime
    valid_until: datetime
    used: bool


class CouponRedeem(BaseModel):
    channel: str = Field(min_length=1, max_length=40)
    reference: str | None = Field(default=None, max_length=120)
    customer_id: Id | None = None


class DriftRow(BaseModel):
    customer_id: int
    counter: Literal["available", "pending", "owed"]
    stored: int
    ledger: int


class RecomputeReport(BaseModel):
    accounts: int
    drift: list[DriftRow]
    fixed: bool


class BackfillReport(BaseModel):
    customers: int
    orders_projected: int
    orders_earned: int
    clawbacks: int
    points_earned: int
    accounts: int
    tiers: dict[str, int]
    as_of: datetime


class RunReport(BaseModel):
    processed: int


class TierMembers(BaseModel):
    tier: str
    members: int


class ProgrammeOverview(BaseModel):
    """The programme's state as of ``as_of``: member accounts by stored tier (a merged
    profile keeps its own account), points outstanding (available and pending, the liability,
    valued at the programme's ``point_value``), points expiring by ``expiring_by``, and points
    earned (purchases and rewards) and redeemed (net of redemptions given back) since
    ``since``."""

    as_of: datetime
    currency: str
    point_value: Decimal
    members: int
    tiers: list[TierMembers]
    available: int
    pending: int
    owed: int = Field(description="points clawed back after they were spent, not yet settled")
    outstanding: int
    outstanding_value: Decimal
    expiring_by: datetime
    expiring: int
    since: datetime
    earned: int
    redeemed: int
