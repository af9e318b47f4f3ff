"""Marketing I/O shared by the API, the console and the CLI."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omniretail.marketing.journeys_definition import CODE

# The journey definition format, re-exported for the edges (the console's editor and graph).
from omniretail.marketing.journeys_definition import AttributeStep as AttributeStep
from omniretail.marketing.journeys_definition import Branch as Branch
from omniretail.marketing.journeys_definition import ConditionStep as ConditionStep
from omniretail.marketing.journeys_definition import CouponStep as CouponStep
from omniretail.marketing.journeys_definition import DateTrigger as DateTrigger
from omniretail.marketing.journeys_definition import EventTrigger as EventTrigger
from omniretail.marketing.journeys_definition import ExitStep as ExitStep
from omniretail.marketing.journeys_definition import Goal as Goal
from omniretail.marketing.journeys_definition import InactivityTrigger as InactivityTrigger
from omniretail.marketing.journeys_definition import JourneyDefinition as JourneyDefinition
from omniretail.marketing.journeys_definition import PointsStep as PointsStep
from omniretail.marketing.journeys_definition import SegmentTrigger as SegmentTrigger
from omniretail.marketing.journeys_definition import SendStep as SendStep
from omniretail.marketing.journeys_definition import SplitStep as SplitStep
from omniretail.marketing.journeys_definition import WaitStep as WaitStep
from omniretail.marketing.journeys_definition import successors as successors

# --- segments ------------------------------------------------------------------------------

RULE_MAX = 4000


class SegmentRule(BaseModel):
    rule: str = Field(min_length=1, max_length=RULE_MAX, description="CEL (segments_rules)")


class SegmentCreate(SegmentRule):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=500)


class SegmentUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=500)
    rule: str | None = Field(default=None, min_length=1, max_length=RULE_MAX)


class SegmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    rule: str
    member_count: int
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None


class SampleCustomer(BaseModel):
    id: int
    name: str | None = Field(
        default=None,
        description="first name and the surname's initial; null to callers without customers:read",
    )


class SegmentPreview(BaseModel):
    count: int
    evaluated: int = Field(description="active customers the rule was run on")
    sample: list[SampleCustomer]


class SegmentMemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: int
    entered_at: datetime


class SegmentRefresh(BaseModel):
    segments: int
    customers: int
    entered: int
    exited: int


# --- messages ------------------------------------------------------------------------------

MessageChannel = Literal["email", "sms", "push", "inbox", "store", "receipt"]
HttpUrl = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")


class MessageUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    subject: str = Field(min_length=1, max_length=500, description="a template")
    body: str = Field(
        min_length=1, max_length=20_000, description="a template; paragraphs by a blank line"
    )
    link_url: str | None = HttpUrl
    link_label: str | None = Field(default=None, max_length=100)
    image_url: str | None = HttpUrl


class MessageCreate(MessageUpdate):
    code: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9_-]*$")


class MessageRead(MessageCreate):
    id: int
    created_at: datetime
    updated_at: datetime


class PreviewRequest(BaseModel):
    customer_id: int = Field(ge=1, le=2**63 - 1)
    channel: MessageChannel


class SmsRead(BaseModel):
    encoding: Literal["GSM-7", "UCS-2"]
    length: int
    segments: int


class RenditionRead(BaseModel):
    channel: MessageChannel
    title: str | None
    text: str
    html: str | None
    image_url: str | None
    link: str | None
    sms: SmsRead | None
    limits: dict[str, int] = Field(description="the truncation limits applied (characters)")


class UnsubscribeRead(BaseModel):
    channel: str
    withdrawn: bool


class ClickRead(BaseModel):
    url: str


# --- retail triggers -----------------------------------------------------------------------


class StockAlertCreate(BaseModel):
    sku: str = Field(min_length=1, max_length=40)
    store: str | None = Field(
        default=None, min_length=1, max_length=40, description="default: the customer's store"
    )


class StockAlertRead(BaseModel):
    id: int
    customer_id: int
    sku: str
    store: str
    status: Literal["waiting", "notified", "cancelled"]
    created_at: datetime
    notified_at: datetime | None


# --- journeys ------------------------------------------------------------------------------

JourneyStatus = Literal["draft", "live", "paused", "archived"]


class JourneyCreate(BaseModel):
    code: str = Field(pattern=CODE, max_length=60)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    definition: JourneyDefinition


class ClassicRead(BaseModel):
    code: str
    name: str
    description: str
    installed: bool


class JourneyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    description: str
    status: JourneyStatus
    live_version: int | None
    latest_version: int = Field(description="the newest version (a draft when above live)")
    definition: JourneyDefinition = Field(description="the newest version's definition")
    created_at: datetime
    updated_at: datetime


class JourneyVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    definition: JourneyDefinition
    created_at: datetime
    created_by: str
    live: bool
    runs: int


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    journey_id: int
    version: int
    customer_id: int
    occurrence: str
    state: Literal["active", "completed", "exited"]
    step_id: str | None
    due_at: datetime | None
    holdout: bool
    branches: dict[str, str]
    context: dict[str, Any]
    entered_at: datetime
    ended_at: datetime | None
    exit_reason: str | None
    converted_at: datetime | None
    conversion_ref: str | None
    revenue: Decimal | None
    currency: str | None


# --- sending -------------------------------------------------------------------------------

SendChannel = Literal["email", "sms", "push", "inbox", "store", "receipt", "preferred"]
CapChannel = Literal["email", "sms", "push", "inbox", "store", "receipt"]
LocalTime = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", max_length=5)
SendStatus = Literal["queued", "held", "sent", "suppressed", "dropped", "failed"]
SuppressionChannel = Literal["all", "email", "sms", "push", "inbox", "store", "receipt"]
SuppressionReason = Literal["bounced", "complained", "manual", "unsubscribed"]


class Cap(BaseModel):
    count: int = Field(ge=0, le=1000, description="sends allowed within the window")
    days: int = Field(ge=1, le=365, description="the window, in the customer's local days")


DEFAULT_CAPS: dict[CapChannel, Cap] = {"email": Cap(count=3, days=7), "sms": Cap(count=2, days=7)}


class QuietHours(BaseModel):
    start: str = LocalTime
    end: str = LocalTime


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


class SendPolicy(BaseModel):
    """What every send passes (``sending_decision``); stored as one row."""

    control_group_percent: float = Field(default=5, ge=0, le=50)
    quiet_hours: QuietHours | None = Field(
        default_factory=lambda: QuietHours(start="21:00", end="08:00")
    )
    caps: dict[CapChannel, Cap] = Field(default_factory=lambda: dict(DEFAULT_CAPS), max_length=10)
    total: Cap | None = Field(default_factory=lambda: Cap(count=5, days=7))
    default_zone: str = Field(default="Europe/London", min_length=1, max_length=60)

    @field_validator("default_zone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        if zone not in _zones():
            raise ValueError("not a known time zone (e.g. Europe/London)")
        return zone


class SuppressionWrite(BaseModel):
    customer_id: int = Field(ge=1, le=2**63 - 1)
    channel: SuppressionChannel = "all"
    reason: SuppressionReason = "manual"


class SuppressionRead(SuppressionWrite):
    model_config = ConfigDict(from_attributes=True)

    created_at: datetime


class SendRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    customer_id: int
    message_code: str
    requested_channel: str
    channel: str | None
    priority: int
    transactional: bool
    holdout: bool
    premise: str
    journey_id: int | None
    run_id: int | None
    step_id: str | None
    status: SendStatus
    reason: str | None
    due_at: datetime
    created_at: datetime
    decided_at: datetime | None
    sent_at: datetime | None
    notification_id: int | None


class CardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    placement: Literal["inbox", "store", "receipt"]
    title: str | None
    body: str
    link: str | None
    created_at: datetime
    seen_at: datetime | None
    dismissed_at: datetime | None


# --- results -------------------------------------------------------------------------------


class SendsRead(BaseModel):
    """A journey's (or step's) sends by what became of them."""

    total: int = 0
    by_channel: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="channel (the resolved one, else the requested) -> status -> sends",
    )
    sent: int = 0
    held: int = Field(default=0, description="waiting out quiet hours")
    queued: int = 0
    failed: int = 0
    suppressed: dict[str, int] = Field(default_factory=dict, description="reason -> sends")
    dropped: dict[str, int] = Field(default_factory=dict, description="reason -> sends")


class ClicksRead(BaseModel):
    customers: int = Field(default=0, description="customers who clicked (unique)")
    total: int = 0


class GroupRead(BaseModel):
    """Runs of one group (treated or holdout) and those converted."""

    runs: int = 0
    converted: int = 0
    rate: float = 0.0


class RevenueRead(BaseModel):
    currency: str | None = Field(description="None: conversions without an order")
    holdout: bool
    converted: int
    revenue: Decimal


class LiftRead(BaseModel):
    """Treated minus holdout conversion rate (fractions), Newcombe's interval, score test."""

    treated_rate: float
    holdout_rate: float
    difference: float
    low: float
    high: float
    relative: float | None
    p_value: float
    significant: bool
    confidence: float


class BranchRead(BaseModel):
    name: str
    runs: int = Field(description="treated runs that took this branch")
    converted: int = Field(description="of them, converted after the split")
    rate: float


class SplitRead(BaseModel):
    branches: list[BranchRead]
    best: str | None = Field(description="the highest conversion rate")
    winner: str | None = Field(description="the best, when the branches differ significantly")
    p_value: float | None = Field(description="chi-square over all branches; None: too few")
    min_group: int = Field(description="runs each branch needs before a winner is named")


class StepResultsRead(BaseModel):
    step_id: str
    kind: str
    reached: int = Field(description="runs that reached the step (the journal)")
    converted: int = Field(description="of them, converted at or after reaching it")
    outcomes: dict[str, int] = Field(description="journal outcome -> runs (e.g. branch:B)")
    sends: SendsRead
    clicks: ClicksRead
    split: SplitRead | None = None


class JourneyResultsRead(BaseModel):
    code: str
    name: str
    status: JourneyStatus
    version: int | None = Field(description="the version measured; None: all of them")
    versions: list[int]
    entered: int
    states: dict[str, int] = Field(description="active / completed / exited -> runs")
    treated: GroupRead
    holdout: GroupRead
    holdout_percent: int = Field(description="of the version shown (the live or newest)")
    lift: LiftRead | None = Field(description="None while either group is below min_group")
    min_group: int
    revenue: list[RevenueRead]
    sends: SendsRead
    clicks: ClicksRead
    steps: list[StepResultsRead]
