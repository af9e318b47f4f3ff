"""HQ replenishment: run the plan (forecast -> reorder points -> what to order or transfer)
as a console job with progress, then show the plan and the overstock report.

The run itself is ``intelligence.replenishment_run``, the same one ``omniretail replenish plan``
prints."""

from __future__ import annotations

from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import Response

from omniretail.catalog import service as catalog
from omniretail.intelligence.service import ReplenishmentConfig, run_replenishment
from omniretail.runtime import Runtime
from omniretail.web.deps import HqDep, PageRoute, PostedDep, authorize_as, read, redirect, render
from omniretail.web.hq.export import csv_response
from omniretail.web.jobs import JobRegistry, Progress
from omniretail.web.session import container_of

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
JOB = "replenishment-plan"
SHOW = 50


@router.get("/planning", response_model=None)
def planning_page(request: Request, viewer: HqDep, format: str = "") -> Response:
    authorize_as(request, viewer, "GET /console/planning")
    jobs: JobRegistry = request.app.state.web_jobs
    job = jobs.latest(JOB)
    done = job is not None and job.status == "done" and isinstance(job.result, dict)
    if format in ("plan.csv", "overstock.csv"):
        if not done:
            return redirect("/hq/planning", notice="Run the plan first.")
        assert job is not None
        return _download(request, job.result, format)
    names: dict[str, str] = {}
    if done:
        assert job is not None
        codes = [r["sku"] for r in job.result["action_rows"] + job.result["overstock_rows"]]
        names = read(request, lambda uow: catalog.sku_names(uow, codes))
    template = "hq/_plan.html" if request.headers.get("hx-request") else "hq/planning.html"
    return render(request, template, viewer=viewer, job=job, names=names)


def _download(request: Request, result: dict[str, Any], which: str) -> Response:
    frame: pl.DataFrame = result["actions_frame" if which == "plan.csv" else "markdown_frame"]
    names = read(request, lambda uow: catalog.sku_names(uow, frame["sku"].to_list()))
    columns = frame.columns
    header = ["sku", "product", *[c for c in columns if c != "sku"]]
    return csv_response(
        which,
        header,
        (
            [row["sku"], names.get(row["sku"], ""), *[row[c] for c in columns if c != "sku"]]
            for row in frame.iter_rows(named=True)
        ),
    )


@router.post("/planning/run", response_model=None)
def run(request: Request, posted: PostedDep) -> Response:
    authorize_as(request, posted.viewer, "POST /console/planning/run")
    jobs: JobRegistry = request.app.state.web_jobs
    container = container_of(request)
    actor = posted.viewer.principal.actor
    jobs.start(JOB, 5, actor, lambda progress: replenishment_plan(container, progress, actor))
    return redirect("/hq/planning")


def replenishment_plan(container: Runtime, progress: Progress, actor: str) -> dict[str, Any]:
    config = ReplenishmentConfig()
    run = run_replenishment(
        container.read_engine,
        container.uow,
        container.read_uow,
        config=config,
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
        "overstock_weeks": config.overstock_weeks,
        # Whole, for the CSV downloads (kept in memory with the job, like the rest).
        "actions_frame": actions,
        "markdown_frame": run.markdown,
    }
