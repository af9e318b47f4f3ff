"""Every rule the platform writes, installs or documents compiles within ``kernel.cel``'s
cost limits: the classic journeys (their triggers and condition steps, for the default
programme and for the largest one a programme may have, 20 tiers), the win-back segment, the
demo's promotion and the examples of the guides and docstrings. (The demo's stored rules,
read back from a database: tests/demo/test_demo_rules.py.)"""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.kernel import cel
from omniretail.loyalty.schemas import ProgrammeRules, TierRule
from omniretail.marketing.journeys_classics import CLASSICS, WINBACK_RULE, tier_up_condition
from omniretail.marketing.journeys_definition import ConditionStep, EventTrigger
from omniretail.marketing.segments_rules import checked_rule

DOCUMENTED = [
    # docs/guide-hq.md: promotions, segments, dynamic pricing
    'channel == "WEB" && total >= 50.0',
    'tier == "Gold" && days_since_last_order > 90 && "marketing:email" in consent',
    "cover_days < 7.0 && demand_change > 30.0",
    # pricing/promotion_rules.py, marketing/segments_rules.py docstrings
    'channel == "WEB" && total >= 50.0 && lines.exists(l, l.category == "Shoes")',
    'has(consents.marketing) && consents.marketing.email && "marketing:email" in consent',
    # the demo's "Spend £50, save £5" (demo/pricing.py)
    "total >= 50.0",
    # benchmarks/pricing.py
    'tier == "gold" || "students" in segments',
    'lines.exists(l, l.quantity >= 2) && channel == "WEB"',
    # tests/unit/test_promotion_table.py: filter then map
    'lines.filter(l, l.category == "Socks").map(l, l.amount)[0] >= 12.0',
]


def _programmes() -> list[ProgrammeRules]:
    largest = ProgrammeRules(
        tiers=[TierRule(name=f"Tier {i:02d}", threshold=Decimal(i * 500)) for i in range(20)]
    )
    return [ProgrammeRules(), largest]


def _classic_rules() -> list[str]:
    rules = [WINBACK_RULE]
    for programme in _programmes():
        for classic in CLASSICS:
            definition = classic.definition(programme=programme)
            if isinstance(definition.trigger, EventTrigger) and definition.trigger.condition:
                rules.append(definition.trigger.condition)
            rules += [s.rule for s in definition.steps if isinstance(s, ConditionStep)]
            if classic.segment is not None:
                rules.append(classic.segment.rule)
    return rules


def test_the_classics_have_rules_and_the_largest_tier_up_is_among_them() -> None:
    rules = _classic_rules()
    assert len(rules) > 10
    largest = tier_up_condition(_programmes()[1])
    assert largest in rules and largest.count("||") == 18


@pytest.mark.parametrize("rule", sorted(set(_classic_rules() + DOCUMENTED)))
def test_every_rule_in_use_compiles(rule: str) -> None:
    cel.compile_program(rule)


def test_the_segment_rules_in_use_read_only_customer_facts() -> None:
    checked_rule(WINBACK_RULE)
    checked_rule(DOCUMENTED[1])
