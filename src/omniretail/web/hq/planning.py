"""HQ replenishment: run the plan (forecast -> reorder points -> what to order or transfer)
as a console job with progress, then show the plan and the overstock report.

The run itself is ``intelligence.replenishment_run``, the same one ``omniretail replenish plan``
prints."""

from __future__ import annotations

from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from omniretail.intelligence.service import ReplenishmentConfig, run_replenishment
from omniretail.runtime import Runtime
from omniretail.web.deps import HqDep, PageRoute, PostedDep, authorize_as, redirect, render
from omniretail.web.jobs import JobRegistry, Progress
from omniretail.web.session import container_of

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
JOB = "replenishment-plan"
SHOW = 50


@router.get("/planning", response_class=HTMLResponse)
def planning_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /console/planning")
    jobs: JobRegistry = request.app.state.web_jobs
    template = "hq/_plan.html" if request.headers.get("hx-request") else "hq/planning.html"
    return render(request, template, viewer=viewer, job=jobs.latest(JOB))


@router.post("/planning/run", response_model=None)
def run(request: Request, posted: PostedDep) -> Response:
    authorize_as(request, posted.viewer, "POST /console/planning/run")
    jobs: JobRegistry = request.app.state.web_jobs
    container = container_of(request)
    actor = posted.viewer.principal.actor
    jobs.start(JOB, 5, actor, lambda progress: replenishment_plan(container, progress, actor))
    return redirect("/hq/planning")


def replenishment_plan(container: Runtime, progress: Progress, actor: str) -> dict[str, Any]:
    run = run_replenishment(
        container.read_engine,
        container.uow,
        container.read_uow,
        config=ReplenishmentConfig(),
        channel="WEB",
        today=container.clock.now().date(),
        actor=actor,
        progress=progress,
    )
    actions = run.actions
    return {
        "start": run.start,
        "basis": run.basis(),
        "policies": run.policies,
        "actions": actions.height,
        "action_rows": actions.head(SHOW).to_dicts(),
        "by_action": dict(actions.group_by("action").agg(pl.col("quantity").sum()).iter_rows()),
        "overstock": run.markdown.height,
        "overstock_rows": run.markdown.head(SHOW).to_dicts(),
    }
