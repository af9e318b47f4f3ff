"""A journey's definition: data, validated here, stored as JSON per version.

A journey is a trigger, a list of steps (the first runs first; a step goes to ``next``, or
to the step after it in the list when ``next`` is empty), exit rules and a goal:

- triggers: ``event`` (a catalogue event about one customer, e.g. ``orders.cart_line_added``,
  with an optional CEL ``condition`` over the event's fields as ``event.<field>``),
  ``segment_entered`` / ``segment_exited`` (a saved segment), ``date`` (the birthday, at a
  local time in the customer's zone, N days before) and ``inactivity`` (N days since the last
  order on any channel)
- steps: ``wait`` (a duration, or until a time of day in the customer's zone),
  ``condition`` (a segment rule, ``segments_rules``, over the customer's facts now),
  ``split`` (random branches by percent, for A/B), ``send`` (one message on one channel, or
  the customer's preferred channel), ``coupon`` (a pricing coupon of a promotion, owned by
  the customer), ``points`` (a loyalty award), ``attribute`` (a marketing attribute on the
  customer) and ``exit``
- ``exit_on``: events that end the customer's run (e.g. an order placed ends an abandoned
  cart journey)
- ``goal``: the event that counts as a conversion within ``within_days`` of entry (an order
  on any channel, the store's included)

The steps form no cycle, so every run ends. Step ids are stable across versions: a customer
waiting at ``reminder`` in version 1 stays on version 1 until their run ends.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omniretail.kernel.limits import MAX_INT64

STEP_ID = r"^[a-z][a-z0-9_-]{0,39}$"
LOCAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
EVENT_TYPE = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$"
CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$"
RULE_MAX = 4000
MAX_STEPS = 50
MAX_DAYS = 3650

StepId = Annotated[
    str, Field(pattern=STEP_ID, max_length=40, description="a-z, 0-9, _ and -; stable")
]
NextStep = Annotated[
    str | None,
    Field(
        default=None, pattern=STEP_ID, max_length=40, description="default: the next in the list"
    ),
]
Channel = Literal["email", "sms", "push", "inbox", "store", "receipt", "preferred"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- triggers ------------------------------------------------------------------------------


class EventTrigger(_Strict):
    kind: Literal["event"] = "event"
    event: str = Field(pattern=EVENT_TYPE, max_length=80, description="a catalogue event type")
    condition: str = Field(default="", max_length=RULE_MAX, description="CEL over event.<field>")


class SegmentTrigger(_Strict):
    kind: Literal["segment_entered", "segment_exited"]
    segment_id: int = Field(ge=1, le=MAX_INT64)


class DateTrigger(_Strict):
    kind: Literal["date"] = "date"
    field: Literal["birthday"] = "birthday"
    days_before: int = Field(default=0, ge=0, le=60)
    at: str = Field(
        default="09:00", pattern=LOCAL_TIME, max_length=5, description="local, customer's zone"
    )


class InactivityTrigger(_Strict):
    kind: Literal["inactivity"] = "inactivity"
    days: int = Field(ge=1, le=MAX_DAYS, description="days since the last order, any channel")


Trigger = Annotated[
    EventTrigger | SegmentTrigger | DateTrigger | InactivityTrigger, Field(discriminator="kind")
]


# --- steps ---------------------------------------------------------------------------------


class _Step(_Strict):
    id: StepId
    next: NextStep = None


class WaitStep(_Step):
    kind: Literal["wait"] = "wait"
    days: int = Field(default=0, ge=0, le=MAX_DAYS)
    hours: int = Field(default=0, ge=0, le=24 * 366)
    minutes: int = Field(default=0, ge=0, le=60 * 24 * 366)
    until: str | None = Field(
        default=None,
        pattern=LOCAL_TIME,
        max_length=5,
        description="then on to this time of day in the customer's zone (after the duration)",
    )

    @model_validator(mode="after")
    def _waits(self) -> WaitStep:
        if not (self.days or self.hours or self.minutes or self.until):
            raise ValueError("a wait needs a duration or a time of day")
        return self


class ConditionStep(_Step):
    kind: Literal["condition"] = "condition"
    rule: str = Field(min_length=1, max_length=RULE_MAX, description="a segment rule (CEL)")
    then: NextStep = None
    otherwise: NextStep = None


class Branch(_Strict):
    name: str = Field(min_length=1, max_length=40)
    percent: int = Field(ge=0, le=100)
    next: NextStep = None


class SplitStep(_Step):
    kind: Literal["split"] = "split"
    branches: list[Branch] = Field(min_length=2, max_length=10)

    @model_validator(mode="after")
    def _hundred(self) -> SplitStep:
        if sum(b.percent for b in self.branches) != 100:
            raise ValueError("the branches' percentages must add up to 100")
        if len({b.name for b in self.branches}) != len(self.branches):
            raise ValueError("branch names must differ")
        return self


class SendStep(_Step):
    kind: Literal["send"] = "send"
    message: str = Field(pattern=CODE, max_length=60, description="a marketing message's code")
    channel: Channel = "email"
    priority: int = Field(default=50, ge=0, le=100, description="higher wins under a cap")
    transactional: bool = Field(default=False, description="never capped, never held back")
    premise: Literal["none", "in_stock", "price_lower"] = Field(
        default="none",
        description="re-checked at send time: the trigger's SKU is in stock at the customer's "
        "store, or its price is still below the price when they entered",
    )


class CouponStep(_Step):
    kind: Literal["coupon"] = "coupon"
    promotion: str = Field(
        pattern=CODE, max_length=60, description="a promotion that requires a coupon"
    )
    valid_days: int = Field(default=30, ge=1, le=366)


class PointsStep(_Step):
    kind: Literal["points"] = "points"
    points: int = Field(ge=1, le=100_000)
    reason: str = Field(default="journey", min_length=1, max_length=100)


class AttributeStep(_Step):
    kind: Literal["attribute"] = "attribute"
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", max_length=40)
    value: str = Field(default="", max_length=200)


class ExitStep(_Step):
    kind: Literal["exit"] = "exit"


Step = Annotated[
    WaitStep
    | ConditionStep
    | SplitStep
    | SendStep
    | CouponStep
    | PointsStep
    | AttributeStep
    | ExitStep,
    Field(discriminator="kind"),
]


class Goal(_Strict):
    event: str = Field(default="orders.order_confirmed", pattern=EVENT_TYPE, max_length=80)
    within_days: int = Field(default=7, ge=1, le=365)


class JourneyDefinition(_Strict):
    trigger: Trigger
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    exit_on: list[Annotated[str, Field(pattern=EVENT_TYPE, max_length=80)]] = Field(
        default_factory=list, max_length=20
    )
    goal: Goal = Field(default_factory=Goal)
    reentry: Literal["once", "every_time"] = Field(
        default="every_time",
        description="once: a customer runs it once ever; every_time: once per occurrence "
        "(per event, per birthday year, per inactivity spell), never twice at a time",
    )
    holdout_percent: int = Field(default=0, ge=0, le=50, description="entered, never sent")

    @model_validator(mode="after")
    def _graph(self) -> JourneyDefinition:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("step ids must be unique")
        for step_id, targets in successors(self).items():
            for target in targets:
                if target is not None and target not in ids:
                    raise ValueError(f"step {step_id!r} goes to an unknown step {target!r}")
        if _has_cycle(self):
            raise ValueError("the steps must not loop back")
        return self

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)


def successors(definition: JourneyDefinition) -> dict[str, list[str | None]]:
    """Each step's possible next steps (None: the run ends after it)."""
    out: dict[str, list[str | None]] = {}
    steps = definition.steps
    for index, s in enumerate(steps):
        following = steps[index + 1].id if index + 1 < len(steps) else None
        default = s.next or following
        if isinstance(s, ExitStep):
            out[s.id] = []
        elif isinstance(s, ConditionStep):
            out[s.id] = [s.then or default, s.otherwise or default]
        elif isinstance(s, SplitStep):
            out[s.id] = [b.next or default for b in s.branches]
        else:
            out[s.id] = [default]
    return out


def _has_cycle(definition: JourneyDefinition) -> bool:
    edges = successors(definition)
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        state[node] = 1
        for target in edges.get(node, []):
            if target is None:
                continue
            if state.get(target) == 1 or (target not in state and visit(target)):
                return True
        state[node] = 2
        return False

    return any(node not in state and visit(node) for node in edges)


def is_event_type(text: str) -> bool:
    return re.fullmatch(EVENT_TYPE, text) is not None
