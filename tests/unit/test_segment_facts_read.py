"""A segment rule's facts are converted to CEL values only for the names it reads
(``segments_rules.read_facts``): the answer is the same as with every fact converted."""

from __future__ import annotations

from datetime import date

import pytest

from omniretail.marketing.segments_rules import activation, compile_rule, matches, read_facts

FACTS = {
    "orders": 3,
    "spend": 120.5,
    "tier": "Gold",
    "channels": ["WEB", "POS"],
    "consent": {"email": True, "sms": False},
    "rfm": {"recency": 2, "frequency": 4, "monetary": 5},
    "birthday": date(1990, 5, 17).isoformat(),
    "has_cart": False,
}


@pytest.mark.parametrize(
    ("rule", "reads"),
    [
        ("orders > 1", {"orders"}),
        ("spend > 100.0 && tier == 'Gold'", {"spend", "tier"}),
        ("channels.exists(c, c == 'POS') && consent.email", {"channels", "consent"}),
        ("rfm.recency >= 2 || has_cart", {"rfm", "has_cart"}),
        ("orders > 1 && no_such_fact", {"orders"}),
    ],
)
def test_a_rule_reads_its_facts_only_and_answers_as_with_all(rule, reads):
    assert read_facts(rule) == reads
    program = compile_rule(rule)
    everything = matches(program, FACTS, activation(FACTS))
    assert matches(program, FACTS, activation(FACTS, read_facts(rule))) == everything


def test_several_rules_read_the_union_and_a_broken_rule_reads_nothing():
    assert read_facts("orders > 1", "tier == 'Gold'") == {"orders", "tier"}
    assert read_facts("orders >") == frozenset()
