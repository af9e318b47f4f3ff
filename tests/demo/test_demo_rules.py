"""Every rule the demo installs (its promotions' conditions, the classic journeys' segment,
triggers and condition steps), read back from the database, compiles within the cost limits
of ``kernel.cel`` and passes its domain's own check when saved again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omniretail.kernel import cel
from omniretail.marketing import service as marketing
from omniretail.marketing.journeys_definition import ConditionStep, EventTrigger
from omniretail.marketing.segments_rules import checked_rule
from omniretail.pricing import service as pricing
from omniretail.pricing.promotion_rules import compile_condition
from tests.demo.test_demo_truth import _run


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_rule_the_demo_installs_compiles(container, clock, tmp_path):
    clock.current = datetime.now(UTC)
    _run(container, tmp_path, "--no-intelligence")
    with container.read_uow() as uow:
        conditions = [p.condition for p in pricing.list_promotions(uow) if p.condition]
        segments = [s.rule for s in marketing.list_segments(uow)]
        journeys = marketing.list_journeys(uow)
    triggers = [
        j.definition.trigger.condition
        for j in journeys
        if isinstance(j.definition.trigger, EventTrigger) and j.definition.trigger.condition
    ]
    steps = [s.rule for j in journeys for s in j.definition.steps if isinstance(s, ConditionStep)]
    assert conditions and segments and triggers and steps

    for text in conditions:
        compile_condition(text)
    for text in segments + steps:
        checked_rule(text)
    for text in triggers:
        cel.compile_program(text)
        assert cel.names(text) == {"event"}
