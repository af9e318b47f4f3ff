"""The replenishment plan's fragment: each table says when it shows only its first rows."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from omniretail.web.rendering import environment


def _plan(overstock: int, shown: int) -> str:
    rows = [
        {
            "sku": f"S{i}",
            "location": "DC1",
            "on_hand": 5,
            "weekly_demand": 0.0,
            "weeks_of_cover": 1e13,
            "over_target": 5.0,
        }
        for i in range(shown)
    ]
    result = {
        "start": date(2026, 12, 7),
        "basis": "",
        "policies": 3,
        "actions": 0,
        "action_rows": [],
        "by_action": {},
        "overstock": overstock,
        "overstock_rows": rows,
        "overstock_weeks": 26.0,
    }
    job = SimpleNamespace(status="done", result=result, started_by="admin", seconds=1.0)
    return environment().get_template("hq/_plan.html").render(job=job, names={})


def test_the_overstock_table_says_when_it_is_cut():
    cut = _plan(overstock=899, shown=2)
    assert '<p class="muted" id="overstock-more">First 2 of 899.</p>' in cut
    assert 'id="overstock-more"' not in _plan(overstock=2, shown=2)
