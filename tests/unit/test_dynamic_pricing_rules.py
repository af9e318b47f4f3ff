"""Dynamic pricing's guardrails and explanations without a database: the step, the floor and
the ceiling (rule and global, absolute or percent of full price), rounding per currency, and
the reason text built from the condition."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from omniretail.intelligence.dynamic_pricing_rules import (
    DynamicPricingSettings,
    Guardrails,
    InvalidRuleCondition,
    guardrails,
    holds,
    move,
    reason,
    require_valid_condition,
)

D = Decimal
WIDE = Guardrails(floor=D("0"), ceiling=D("100000"), max_step_percent=D("10"))
GLOBAL = DynamicPricingSettings(floor_percent=D(50), ceiling_percent=D(150), max_step_percent=D(10))


def _rule(**limits):
    values = dict(
        floor_amount=None,
        floor_percent=None,
        ceiling_amount=None,
        ceiling_percent=None,
        max_step_percent=None,
    )
    values.update(limits)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    ("price", "percent", "rails", "currency", "new", "note"),
    [
        # plain raise and lower
        ("10.00", "5", WIDE, "GBP", "10.50", "+5 %"),
        ("10.00", "-5", WIDE, "GBP", "9.50", "-5 %"),
        # the largest step caps the move
        ("10.00", "20", WIDE, "GBP", "11.00", "+20 % (step limited to +10 %)"),
        ("10.00", "-20", WIDE, "GBP", "9.00", "-20 % (step limited to -10 %)"),
        # never above the ceiling, never below the floor
        (
            "10.00",
            "5",
            Guardrails(D("0"), D("10.30"), D("10")),
            "GBP",
            "10.30",
            "+5 % (ceiling £10.30)",
        ),
        (
            "10.00",
            "-10",
            Guardrails(D("9.75"), D("99"), D("10")),
            "GBP",
            "9.75",
            "-10 % (floor £9.75)",
        ),
        # at the ceiling already: no change
        (
            "10.30",
            "5",
            Guardrails(D("0"), D("10.30"), D("10")),
            "GBP",
            None,
            "+5 %: no change at ceiling £10.30",
        ),
        # above the ceiling (the full price moved): a raise never lowers the price
        (
            "11.00",
            "5",
            Guardrails(D("0"), D("10.30"), D("10")),
            "GBP",
            None,
            "+5 %: no change at ceiling £10.30",
        ),
        # floor above ceiling: nothing moves
        (
            "10.00",
            "5",
            Guardrails(D("12"), D("11"), D("10")),
            "GBP",
            None,
            "no change: floor £12.00 is above ceiling £11.00",
        ),
        # yen: whole units (999 * 1.05 = 1048.95 -> 1049)
        ("999", "5", WIDE, "JPY", "1049", "+5 %"),
        ("1000", "2.5", WIDE, "JPY", "1025", "+2.5 %"),
    ],
)
def test_move_applies_the_step_then_floor_and_ceiling(price, percent, rails, currency, new, note):
    outcome = move(D(price), D(percent), rails, currency)
    assert (str(outcome.new_price) if outcome.new_price is not None else None, outcome.note) == (
        new,
        note,
    )


def test_guardrails_take_the_tightest_of_rule_and_global():
    full = D("20.00")
    # global: floor 50 % = 10.00, ceiling 150 % = 30.00, step 10 %
    assert guardrails(_rule(), full, GLOBAL) == Guardrails(D("10.00"), D("30.00"), D("10"))
    rails = guardrails(
        _rule(floor_amount=D("12.00"), ceiling_percent=D("110"), max_step_percent=D("4")),
        full,
        GLOBAL,
    )
    assert rails == Guardrails(D("12.00"), D("22.00"), D("4"))
    # a looser rule does not loosen the global guardrails
    rails = guardrails(
        _rule(floor_percent=D("10"), ceiling_amount=D("99.00"), max_step_percent=D("30")),
        full,
        GLOBAL,
    )
    assert rails == Guardrails(D("10.00"), D("30.00"), D("10"))


FACTS = {
    "sku": "A1",
    "cover_days": 3.14,
    "demand_change": 45.0,
    "available": 22,
    "price_age_days": 12,
    "price_ratio": 100.0,
}


def test_reason_reads_the_conditions_comparisons_with_the_values():
    assert (
        reason("cover_days < 7.0 && demand_change > 30.0", FACTS)
        == "cover 3.1 days < 7 and demand +45 % vs 8-week mean > 30"
    )
    assert reason("price_age_days >= 7 && sku == 'A1'", FACTS) == "price 12 days old >= 7"
    # nothing to show from the condition: the main facts
    assert reason(None, FACTS) == "cover 3.1 days and demand +45 % vs 8-week mean"


def test_conditions_are_cel_and_a_failing_one_is_false():
    assert holds("cover_days < 7.0 && demand_change > 30.0", FACTS) is True
    assert holds("cover_days < 3.0", FACTS) is False
    assert holds("no_such_fact > 1.0", FACTS) is False  # an unknown variable: does not apply
    assert holds("", FACTS) is True
    with pytest.raises(InvalidRuleCondition):
        require_valid_condition("cover_days <")  # refused when a rule is saved
    require_valid_condition(None)
