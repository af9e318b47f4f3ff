"""HQ markdown review: the suggested ladders for slow stock (filters by location and
category), each with its steps, guardrails, expected revenue against no markdown, approve or
reject, and, once approved, the units sold since next to those expected.

Suggestions come from ``omniretail markdowns suggest`` or the durable job the "Suggest now"
button queues (authorised as ``POST /markdowns/runs``; the page shows the latest job's state);
approving one schedules its steps as price lists through the pricing domain
(``intelligence.service.approve_markdown``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import service as intelligence
from omniretail.kernel.errors import DomainError
from omniretail.web.deps import (
    HqDep,
    PageRoute,
    PostedDep,
    authorize_as,
    change,
    read,
    redirect,
    render,
)

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
STATUSES = ("suggested", "approved", "rejected")
SHOWN = 500


@router.get("/markdowns", response_class=HTMLResponse)
def markdowns_page(
    request: Request,
    viewer: HqDep,
    status: str = "suggested",
    location: str = "",
    category: str = "",
) -> HTMLResponse:
    authorize_as(request, viewer, "GET /markdowns")
    chosen = status if status in STATUSES else None
    where = location.strip()[:40] or None
    kind = category.strip()[:120] or None

    def load(uow: UnitOfWork) -> dict[str, Any]:
        rows = intelligence.list_markdowns(
            uow, status=chosen, location=where, category=kind, limit=SHOWN + 1
        )
        return {
            "rows": rows[:SHOWN],
            "more": len(rows) > SHOWN,
            "locations": catalog.list_locations(uow),
            "categories": intelligence.markdown_categories(uow),
            "job": intelligence.last_suggestions_job(uow),
        }

    return render(
        request,
        "hq/markdowns.html",
        viewer=viewer,
        chosen=chosen or "",
        location=where or "",
        category=kind or "",
        statuses=STATUSES,
        **read(request, load),
    )


@router.post("/markdowns/runs", response_model=None)
def suggest_now(request: Request, posted: PostedDep) -> Response:
    """Queues the suggestions job, as ``POST /markdowns/runs``; one already queued or
    running is named instead."""
    decided = authorize_as(request, posted.viewer, "POST /markdowns/runs")
    actor = posted.viewer.principal.actor
    try:
        job = change(request, decided, lambda uow: intelligence.queue_suggestions(uow, actor=actor))
    except DomainError as exc:
        return redirect("/hq/markdowns", notice=exc.detail)
    return redirect(
        "/hq/markdowns",
        notice=f"Suggestions are being refreshed (job {job.id}); reload this page to see them.",
    )


@router.get("/markdowns/{suggestion_id}", response_class=HTMLResponse)
def markdown_page(request: Request, viewer: HqDep, suggestion_id: int) -> HTMLResponse:
    authorize_as(
        request, viewer, "GET /markdowns/{suggestion_id}", {"suggestion_id": suggestion_id}
    )
    detail = read(request, lambda uow: intelligence.get_markdown(uow, suggestion_id))
    return render(request, "hq/markdown.html", viewer=viewer, m=detail)


def _decide(request: Request, posted: PostedDep, suggestion_id: int, verb: str) -> Response:
    decided = authorize_as(
        request,
        posted.viewer,
        f"POST /markdowns/{{suggestion_id}}/{verb}",
        {"suggestion_id": suggestion_id},
    )
    actor = posted.viewer.principal.actor
    use = intelligence.approve_markdown if verb == "approve" else intelligence.reject_markdown
    try:
        change(request, decided, lambda uow: use(uow, suggestion_id, actor=actor))
    except DomainError as exc:
        return redirect(f"/hq/markdowns/{suggestion_id}", notice=exc.detail)
    done = "Approved: the price changes are scheduled." if verb == "approve" else "Rejected."
    return redirect(f"/hq/markdowns/{suggestion_id}", notice=done)


@router.post("/markdowns/{suggestion_id}/approve", response_model=None)
def approve(request: Request, posted: PostedDep, suggestion_id: int) -> Response:
    return _decide(request, posted, suggestion_id, "approve")


@router.post("/markdowns/{suggestion_id}/reject", response_model=None)
def reject(request: Request, posted: PostedDep, suggestion_id: int) -> Response:
    return _decide(request, posted, suggestion_id, "reject")
