"""HQ dashboard: sales by channel and week, orders by state, stock health, late pickups.

Sales are the intelligence domain's net sales per channel and day over the chart's weeks,
summed by the database; the panel is still computed as a console job (the page shows its
progress) and kept for a few minutes."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from omniretail.catalog import service as catalog
from omniretail.intelligence import service as intelligence
from omniretail.inventory import service as inventory
from omniretail.orders import service as lookup
from omniretail.pricing import service as pricing
from omniretail.support import service as support
from omniretail.web import charts
from omniretail.web.deps import HqDep, PageRoute, read, render
from omniretail.web.jobs import JobRegistry, Progress
from omniretail.web.rendering import label

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
SALES_JOB = "dashboard-sales"
SALES_FRESH_SECONDS = 300
WEEKS = 12


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, viewer: HqDep) -> HTMLResponse:
    context: dict[str, Any] = {}
    if viewer.can("orders:read"):
        counts = read(request, lookup.count_orders_by_status)
        ordered = sorted(counts.items(), key=lambda kv: -kv[1])
        context["order_states"] = ordered
        context["order_chart"] = charts.bars(
            [(label(s), float(n)) for s, n in ordered], title="Orders by state"
        )
        context["late"] = read(request, lambda uow: lookup.overdue_pickups(uow, limit=20))
    if viewer.can("inventory:read"):
        health = read(request, _stock_health)
        context["stock_health"] = health
        context["stock_chart"] = charts.bars(
            [(name, float(n)) for name, n in health], title="Stock records by health"
        )
    if viewer.can("support:read"):
        context["support"] = read(request, _support_measures)
    return render(request, "hq/dashboard.html", viewer=viewer, **context)


SUPPORT_DAYS = 30


def _support_measures(uow: Any) -> support.SupportMeasures:
    """Customer service over the conversations opened in the last ``SUPPORT_DAYS`` days."""
    return support.support_measures(uow, uow.now - timedelta(days=SUPPORT_DAYS), uow.now)


def _stock_health(uow: Any) -> list[tuple[str, int]]:
    """Stock records per state: nothing available to promise, at or under the reorder point
    (stock position = on hand - held + in transit, as replenishment counts it), healthy."""
    out = low = healthy = 0
    for s in inventory.list_stock_levels(uow, limit=1_000_000):
        position = s.on_hand - s.reserved - s.allocated + s.in_transit
        if s.available <= 0:
            out += 1
        elif s.reorder_point is not None and position <= s.reorder_point:
            low += 1
        else:
            healthy += 1
    return [("Out of stock", out), ("At/below reorder point", low), ("Healthy", healthy)]


@router.get("/dashboard/sales", response_class=HTMLResponse)
def sales_panel(request: Request, viewer: HqDep, refresh: bool = False) -> HTMLResponse:
    """The sales panel (an HTMX fragment; without JavaScript, a page of its own)."""
    jobs: JobRegistry = request.app.state.web_jobs
    job = jobs.latest(SALES_JOB)
    stale = job is None or (
        job.status != "running"
        and (refresh or job.status == "failed" or _age(job.finished_at) > SALES_FRESH_SECONDS)
    )
    if stale:
        container = request.app.state.container
        job = jobs.start(SALES_JOB, 3, viewer.principal.actor, lambda p: _sales(container, p))
    assert job is not None
    context: dict[str, Any] = {"job": job}
    if job.status == "done" and job.result is not None:
        weeks, series, table = job.result
        context["sales_chart"] = charts.stacked_columns(
            weeks, series, title=f"Sales by channel and week, {table['period']}"
        )
        context["sales_table"] = table
        # Each channel's column in the channel's currency (its orders are).
        context["currencies"] = read(
            request, lambda uow: {c.code: c.currency for c in catalog.list_channels(uow)}
        )
        context["house_currency"] = pricing.CATALOG_CURRENCY
    template = "hq/_sales.html" if request.headers.get("hx-request") else "hq/sales.html"
    return render(request, template, viewer=viewer, **context)


def _age(finished_at: float | None) -> float:
    return time.monotonic() - finished_at if finished_at is not None else 0.0


def _sales(container: Any, progress: Progress) -> tuple[list[str], dict[str, list[float]], Any]:
    """The ``WEEKS`` weeks up to this one (Monday to Sunday), weeks without sales at zero, so
    the axis is the calendar and never joins distant periods."""
    today = container.clock.now().date()
    this_week = today - timedelta(days=today.weekday())
    weeks = [this_week - timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]
    # A report: a replica's lag of a few seconds does not show in weekly figures.
    engine = container.replica_read_engine
    daily = intelligence.daily_sales(engine, weeks[0])
    progress(f"summed {len(daily):,} channel days")
    revenue: dict[tuple[str, date], float] = defaultdict(float)
    for (channel, day), amount in daily.items():
        revenue[(channel, day - timedelta(days=day.weekday()))] += float(amount)
    progress("weekly figures per channel")
    channels = sorted({channel for channel, _ in revenue})
    series = {ch: [revenue.get((ch, w), 0.0) for w in weeks] for ch in channels}
    labels = [w.strftime("%d %b %y") for w in weeks]
    rows = [(label, [series[ch][i] for ch in channels]) for i, label in enumerate(labels)]
    before = intelligence.last_sale_day_before(engine, weeks[0])
    table = {
        "channels": channels,
        "rows": rows if channels else [],
        "period": f"weeks of {weeks[0]:%Y-%m-%d} to {weeks[-1]:%Y-%m-%d}",
        "latest_before": (
            None if before is None else str(before - timedelta(days=before.weekday()))
        ),
    }
    progress("chart drawn")
    return labels, series, table
