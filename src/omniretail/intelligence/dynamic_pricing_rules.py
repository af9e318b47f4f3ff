"""Dynamic pricing without a database: rule conditions (CEL), the guardrails (step, floor,
ceiling), the move they allow, and the reason in words. ``dynamic_pricing`` documents the facts
and runs the rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from omniretail.kernel import cel
from omniretail.kernel.errors import Conflict, InvalidRequest, NotFound
from omniretail.kernel.money import format_money, round_money

HUNDRED = Decimal(100)
RECENT_DAYS = 7
BASELINE_WEEKS = 8


class DynamicPricingSettings(BaseSettings):
    """The global guardrails, over every rule (``OMNIRETAIL_DYNAMIC_PRICING_*``)."""

    model_config = SettingsConfigDict(env_prefix="OMNIRETAIL_DYNAMIC_PRICING_", extra="ignore")

    floor_percent: Decimal = Field(default=Decimal(50), ge=0, le=1000)
    """No dynamic price below this percent of the full price."""
    ceiling_percent: Decimal = Field(default=Decimal(150), ge=1, le=1000)
    """No dynamic price above this percent of the full price."""
    max_step_percent: Decimal = Field(default=Decimal(10), gt=0, le=50)
    """The largest move of one change, in percent of the price before it."""
    daily_at: time | None = None
    """When (UTC, ``HH:MM``) the server queues the daily run; None: no schedule (use cron)."""


class UnknownDynamicRule(NotFound):
    slug = "unknown-dynamic-rule"
    title = "No such dynamic pricing rule"


class InvalidRuleCondition(InvalidRequest):
    slug = "invalid-rule-condition"
    title = "The rule's condition is not valid CEL or too costly to evaluate"


class InvalidRuleCode(InvalidRequest):
    slug = "invalid-rule-code"
    title = "Not a valid rule code"


class UnknownDynamicChange(NotFound):
    slug = "unknown-dynamic-change"
    title = "No such dynamic price change"


class ChangeNotRevertible(Conflict):
    slug = "change-not-revertible"
    title = "This price change cannot be reverted"


# --- conditions


def require_valid_condition(condition: str | None) -> None:
    """Raises ``InvalidRuleCondition`` unless the condition is empty or parses as CEL within
    the cost limits of ``kernel.cel``."""
    if condition and condition.strip():
        try:
            cel.compile_program(condition)
        except cel.CelSyntaxError as exc:
            raise InvalidRuleCondition(
                f"the condition is {exc.summary}", field="condition"
            ) from exc


def holds(condition: str | None, facts: dict[str, Any]) -> bool:
    """Whether the condition is true for the facts (empty: always; an error: false)."""
    return cel.holds(condition, facts)


# --- guardrails and explanations (pure)


@dataclass(frozen=True)
class Guardrails:
    floor: Decimal
    ceiling: Decimal
    max_step_percent: Decimal


def guardrails(rule: Any, full_price: Decimal, settings: DynamicPricingSettings) -> Guardrails:
    """The highest floor and the lowest ceiling of the rule's and the global ones, and the
    smaller largest step."""
    floors = [full_price * settings.floor_percent / HUNDRED]
    ceilings = [full_price * settings.ceiling_percent / HUNDRED]
    if rule.floor_amount is not None:
        floors.append(Decimal(rule.floor_amount))
    if rule.floor_percent is not None:
        floors.append(full_price * Decimal(rule.floor_percent) / HUNDRED)
    if rule.ceiling_amount is not None:
        ceilings.append(Decimal(rule.ceiling_amount))
    if rule.ceiling_percent is not None:
        ceilings.append(full_price * Decimal(rule.ceiling_percent) / HUNDRED)
    steps = [settings.max_step_percent]
    if rule.max_step_percent is not None:
        steps.append(Decimal(rule.max_step_percent))
    return Guardrails(max(floors), min(ceilings), min(steps))


@dataclass(frozen=True)
class Move:
    new_price: Decimal | None  # None: no change
    note: str  # the action and any guardrail that shaped it


def move(price: Decimal, percent: Decimal, rails: Guardrails, currency: str) -> Move:
    """The new price: ``percent`` capped at the largest step, then kept within floor and
    ceiling, rounded to the currency. None when the guardrails leave the price where it is."""
    floor, ceiling = round_money(rails.floor, currency), round_money(rails.ceiling, currency)
    if floor > ceiling:
        return Move(
            None,
            f"no change: floor {format_money(floor, currency)} is above ceiling"
            f" {format_money(ceiling, currency)}",
        )
    step = max(min(percent, rails.max_step_percent), -rails.max_step_percent)
    notes = [] if step == percent else [f"step limited to {_pct(step)}"]
    target = round_money(price * (HUNDRED + step) / HUNDRED, currency)
    if target > ceiling:
        target = ceiling
        notes.append(f"ceiling {format_money(ceiling, currency)}")
    elif target < floor:
        target = floor
        notes.append(f"floor {format_money(floor, currency)}")
    action = _pct(percent)
    if target == price or (percent > 0 and target < price) or (percent < 0 and target > price):
        limit = f" at {notes[-1]}" if notes else ""
        return Move(None, f"{action}: no change{limit}")
    shaped = f" ({', '.join(notes)})" if notes else ""
    return Move(target, f"{action}{shaped}")


def _pct(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return f"{'+' if value > 0 else ''}{text} %"


_COMPARISON = re.compile(r"\b([a-z_]+)\s*(<=|>=|<|>|==|!=)\s*(-?\d+(?:\.\d+)?)")
_FACT_TEXT: dict[str, Callable[[Any], str]] = {
    "cover_days": lambda v: f"cover {v:.1f} days",
    "demand_change": lambda v: f"demand {v:+.0f} % vs {BASELINE_WEEKS}-week mean",
    "available": lambda v: f"{v} available",
    "daily_demand": lambda v: f"demand {v:.1f} a day",
    "recent_units": lambda v: f"{v} sold in {RECENT_DAYS} days",
    "baseline_units": lambda v: f"{v:.1f} a week over {BASELINE_WEEKS} weeks",
    "price_age_days": lambda v: f"price {v} days old",
    "price_ratio": lambda v: f"price at {v:.0f} % of full",
}


def _number(text: str) -> str:
    return text[:-2] if text.endswith(".0") else text


def reason(condition: str | None, facts: dict[str, Any]) -> str:
    """The condition's comparisons with the SKU's values, e.g. ``cover 3.1 days < 7 and demand
    +45 % vs 8-week mean > 30``; the main facts when the condition has none to show."""
    parts = [
        f"{_FACT_TEXT[name](facts[name])} {op} {_number(value)}"
        for name, op, value in _COMPARISON.findall(condition or "")
        if name in _FACT_TEXT and name in facts
    ]
    if not parts:
        parts = [
            _FACT_TEXT["cover_days"](facts["cover_days"]),
            _FACT_TEXT["demand_change"](facts["demand_change"]),
        ]
    return " and ".join(parts)
