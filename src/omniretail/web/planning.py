"""HQ replenishment: run the plan (forecast -> reorder points -> what to order or transfer)
as a console job with progress, then show the plan and the overstock report.

The steps are the ones ``omniretail replenish plan`` runs, through the intelligence
domain's functions (the composition lives in its CLI; see the report of issue 7)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from omniretail.bootstrap import Container
from omniretail.intelligence import service as intelligence
from omniretail.intelligence.replenishment import ReplenishmentConfig, overstock, plan
from omniretail.web.deps import HqDep, PageRoute, PostedDep, redirect, render, require
from omniretail.web.jobs import JobRegistry, Progress
from omniretail.web.session import container_of

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
JOB = "replenishment-plan"
SHOW = 50


@router.get("/planning", response_class=HTMLResponse)
def planning_page(request: Request, viewer: HqDep) -> HTMLResponse:
    require(viewer, "inventory:read")
    jobs: JobRegistry = request.app.state.web_jobs
    template = "hq/_plan.html" if request.headers.get("hx-request") else "hq/planning.html"
    return render(request, template, viewer=viewer, job=jobs.latest(JOB))


@router.post("/planning/run", response_model=None)
def run(request: Request, posted: PostedDep) -> Response:
    require(posted.viewer, "inventory:admin")
    jobs: JobRegistry = request.app.state.web_jobs
    container = container_of(request)
    actor = posted.viewer.principal.actor
    jobs.start(JOB, 5, actor, lambda progress: replenishment_plan(container, progress, actor))
    return redirect("/hq/planning")


def replenishment_plan(container: Container, progress: Progress, actor: str) -> dict[str, Any]:
    config = ReplenishmentConfig()
    tx = intelligence.load_history(container.read_engine)
    progress(f"read {tx.height:,} order lines")
    last: date | None = tx.select(pl.col("day").max()).item() if tx.height else None
    start = (last or container.clock.now().date()) + timedelta(days=1)
    result = intelligence.forecast_demand(tx, start, 12)
    progress(f"forecast {len(result.skus):,} SKUs for 12 weeks from {start:%d %b %Y}")
    with container.uow() as uow:
        table = intelligence.apply_replenishment_policies(uow, result, config, actor=actor)
    progress(f"reorder points set for {table.height:,} SKU x location pairs")
    with container.read_uow() as uow:
        stock = intelligence.stock_positions(uow)
    weekly = table.select("sku", "location", "weekly_demand")
    actions = plan(stock, weekly)
    progress(f"{actions.height:,} actions planned")
    over = overstock(stock, weekly, config).filter(pl.col("markdown"))
    progress(f"{over.height:,} markdown candidates")
    return {
        "start": start,
        "policies": table.height,
        "actions": actions.height,
        "action_rows": actions.head(SHOW).to_dicts(),
        "by_action": dict(actions.group_by("action").agg(pl.col("quantity").sum()).iter_rows()),
        "overstock": over.height,
        "overstock_rows": over.head(SHOW).to_dicts(),
    }
