"""The dashboard's sales, summed by the database per channel and day, are the figures the
weekly KPIs computed from every order line in memory: imported history with its unlinked
cancellations (summer and winter time), and platform orders with a cancellation."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from omniretail.bootstrap import Container
from omniretail.fulfilment import service as fulfilment
from omniretail.history import service as history
from omniretail.intelligence import service as intelligence
from omniretail.orders.schemas import CancelBody
from tests.history.logs import write_log
from tests.web.seed import Seeded


def _weekly(daily: dict[tuple[str, date], object]) -> dict[tuple[str, date], float]:
    weeks: dict[tuple[str, date], float] = defaultdict(float)
    for (channel, day), amount in daily.items():
        weeks[(channel, day - timedelta(days=day.weekday()))] += float(amount)  # type: ignore[arg-type]
    return {key: round(value, 2) for key, value in weeks.items()}


def test_daily_sales_add_up_to_the_weekly_kpis_revenue(
    container: Container, seeded: Seeded, tmp_path: Path
) -> None:
    with container.uow() as uow:
        history.import_history(uow, write_log(tmp_path / "log.parquet"), actor="test")
        fulfilment.cancel(uow, seeded.home_order, CancelBody(reason="changed mind"), actor="t")
    engine = container.read_engine

    old = intelligence.weekly_kpis(intelligence.load_history(engine))
    expected = {
        (r["channel"], r["week"]): round(float(r["revenue"]), 2)
        for r in old.to_dicts()
        if r["revenue"]
    }
    new = _weekly(intelligence.daily_sales(engine, date(2000, 1, 1)))

    assert len(expected) >= 4  # history weeks and this week's web orders
    assert new == expected
    # The chart's window leaves out what came before it, and names the last week with sales.
    since = intelligence.daily_sales(engine, date(2010, 7, 2))
    assert min(day for _, day in since) == date(2010, 7, 2)  # the guest sale of 11:00
    assert intelligence.last_sale_day_before(engine, date(2010, 7, 2)) == date(2010, 7, 1)
