"""HQ segments: the saved segments with their member counts, a builder whose count and sample
follow the rule as it is typed (HTMX, the API's preview), a segment's members, editing and
deleting, and "Refresh now" (the refresh job queued, its state on the segment's page). Each
form is the API's ``/marketing/segments`` operation, decided and audited as
the API does (``web.deps``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.api.params import IdPath
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import Conflict, DomainError
from omniretail.kernel.limits import whole_number
from omniretail.kernel.vault import vault_for
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import SegmentCreate, SegmentRead, SegmentRule, SegmentUpdate
from omniretail.web.deps import (
    HqDep,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    read,
    redirect,
    render,
    submit,
)
from omniretail.web.forms import Errors, body_of, errors_of
from omniretail.web.session import container_of

router = APIRouter(prefix="/hq/segments", route_class=PageRoute, include_in_schema=False)
PAGE = "/hq/segments"
FIELDS = ("name", "description", "rule")
MEMBERS_SHOWN = 100


def _page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
    editing: SegmentRead | None = None,
) -> HTMLResponse:
    segments = read(request, marketing.list_segments)
    if values is None:
        values = (
            {"name": editing.name, "description": editing.description, "rule": editing.rule}
            if editing
            else {}
        )
    return render(
        request,
        "hq/segments.html",
        viewer=viewer,
        status=status,
        values=values,
        errors=errors or {},
        segments=segments,
        editing=editing,
    )


@router.get("", response_class=HTMLResponse)
def segments_page(request: Request, viewer: HqDep, edit: int | None = None) -> HTMLResponse:
    authorize_as(request, viewer, "GET /marketing/segments")
    editing = None
    if edit is not None and 0 < edit < 2**63:
        try:
            editing = read(request, lambda uow: marketing.get_segment(uow, edit))
        except DomainError:
            editing = None
    return _page(request, viewer, editing=editing)


@router.post("/preview", response_model=None)
def preview(request: Request, posted: PostedDep) -> Response:
    """The live count under the builder (HTMX swaps the fragment in)."""
    rule = posted.get("rule")
    authorize_as(request, posted.viewer, "POST /marketing/segments/preview", None, {"rule": rule})
    if not str(rule or "").strip():  # the builder's first load: nothing typed yet
        return render(
            request, "hq/_segment_preview.html", viewer=posted.viewer, preview=None, errors={}
        )
    container = container_of(request)
    vault, seconds = vault_for(container.keyring), container.settings.segment_preview_seconds
    try:
        body = SegmentRule.model_validate({"rule": rule})
        names = posted.viewer.can("customers:read")  # as the send log decides
        result = read(
            request,
            lambda uow: marketing.preview(
                uow, body.rule, vault=vault, with_names=names, seconds=seconds
            ),
        )
    except (ValidationError, DomainError) as exc:
        errors = {"rule": "; ".join(errors_of(exc).values())}
        return render(
            request, "hq/_segment_preview.html", viewer=posted.viewer, preview=None, errors=errors
        )
    return render(
        request, "hq/_segment_preview.html", viewer=posted.viewer, preview=result, errors={}
    )


@router.post("", response_model=None)
def save_segment(request: Request, posted: PostedDep) -> Response:
    """A new segment (the API's POST), or a changed one when ``segment_id`` is posted (PATCH)."""
    values = {name: posted.get(name) for name in FIELDS if name in posted.values}
    raw_id = posted.get("segment_id")
    segment_id = whole_number(raw_id) or None
    actor = posted.viewer.principal.actor
    if segment_id is None:
        body = body_of(SegmentCreate, values)
        decided = authorize_as(request, posted.viewer, "POST /marketing/segments", None, body)
    else:
        body = body_of(SegmentUpdate, values)
        decided = authorize_as(
            request,
            posted.viewer,
            "PATCH /marketing/segments/{segment_id}",
            {"segment_id": segment_id},
            body,
        )

    def save(uow: UnitOfWork) -> SegmentRead:
        if segment_id is None:
            saved = marketing.create_segment(uow, SegmentCreate.model_validate(body))
        else:
            saved = marketing.update_segment(uow, segment_id, SegmentUpdate.model_validate(body))
        marketing.queue_refresh(uow, actor=actor)
        return saved

    return submit(
        request,
        decided,
        save,
        done=lambda segment: redirect(
            f"{PAGE}/{segment.id}",
            notice=f"{segment.name} is saved; its members are being refreshed.",
        ),
        failed=lambda errors, status: _page(
            request, posted.viewer, values=values, errors=errors, status=status
        ),
    )


@router.get("/{segment_id}", response_class=HTMLResponse)
def segment_page(request: Request, viewer: HqDep, segment_id: IdPath) -> HTMLResponse:
    authorize_as(
        request, viewer, "GET /marketing/segments/{segment_id}/members", {"segment_id": segment_id}
    )

    def load(uow: UnitOfWork) -> dict[str, Any]:
        return {
            "segment": marketing.get_segment(uow, segment_id),
            "members": marketing.members(uow, segment_id, limit=MEMBERS_SHOWN),
            "job": marketing.last_refresh_job(uow),
        }

    context = read(request, load)
    return render(request, "hq/segment.html", viewer=viewer, shown=MEMBERS_SHOWN, **context)


@router.post("/{segment_id}/refresh", response_model=None)
def refresh_segment(request: Request, posted: PostedDep, segment_id: IdPath) -> Response:
    """Refresh now: queues the refresh job, as ``POST /marketing/segments/{segment_id}/refresh``;
    one already queued or running is named instead."""
    decided = authorize_as(
        request,
        posted.viewer,
        "POST /marketing/segments/{segment_id}/refresh",
        {"segment_id": segment_id},
    )
    actor = posted.viewer.principal.actor
    try:
        job = change(
            request, decided, lambda uow: marketing.refresh_segment(uow, segment_id, actor=actor)
        )
    except Conflict as exc:  # a refresh already queued or running (the job's 409)
        return redirect(f"{PAGE}/{segment_id}", notice=exc.detail)
    return redirect(
        f"{PAGE}/{segment_id}",
        notice=f"A refresh is queued (job {job.id}); reload this page to see its members.",
    )


@router.post("/{segment_id}/delete", response_model=None)
def delete_segment(request: Request, posted: PostedDep, segment_id: IdPath) -> Response:
    decided = authorize_as(
        request,
        posted.viewer,
        "DELETE /marketing/segments/{segment_id}",
        {"segment_id": segment_id},
    )
    change(request, decided, lambda uow: marketing.delete_segment(uow, segment_id))
    return redirect(PAGE, notice="The segment is deleted.")
