"""The plan's overstock table: the largest overstock first (units over the target cover), not
the SKU code; SQLite and PostgreSQL."""

from __future__ import annotations

from types import SimpleNamespace

from omniretail.intelligence.service import ReplenishmentConfig
from omniretail.web.hq.planning import replenishment_plan
from omniretail.web.jobs import Job, Progress
from omniretail.web.rendering import environment
from tests.intelligence.helpers import GONE, SLOW, import_synthetic, make_network, receive


def test_the_overstock_table_lists_the_largest_overstock_first(container, tmp_path):
    import_synthetic(container, tmp_path)
    make_network(container)
    receive(container, SLOW, "DC1", 500)  # 4 a week: 500 - 26 x 4 = 396 over the target
    receive(container, GONE, "LON1", 20)  # discontinued: all 20 over, no demand at all

    result = replenishment_plan(container, Progress(Job("j", "plan", "test", 5)), "test")

    weeks = ReplenishmentConfig().overstock_weeks
    rows = [(r["sku"], r["location"], r["over_target"]) for r in result["overstock_rows"]]
    assert [r[:2] for r in rows] == [(SLOW, "DC1"), (GONE, "LON1")]  # GONE < SLOW by code
    slow = result["overstock_rows"][0]
    assert rows[0][2] == slow["on_hand"] - weeks * slow["weekly_demand"]
    assert 390 < rows[0][2] < 400 and rows[1][2] == 20
    job = SimpleNamespace(status="done", result=result, started_by="test", seconds=1.0)
    page = environment().get_template("hq/_plan.html").render(job=job, names={})
    assert "Overstock (markdown candidates), largest first" in page
    assert f"units over the target cover ({weeks:.0f} weeks" in page
    assert page.index(f"<td>{SLOW}</td>") < page.index(f"<td>{GONE}</td>")
    assert f'<td class="n">{round(rows[0][2])}</td></tr>' in page
