"""HTTP routes for segments (``/marketing/segments``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from omniretail.api.deps import ActorDep, ContainerDep, HoldsDep, ReadDep, UseCaseDep, no_content
from omniretail.api.params import IdPath
from omniretail.db.uow import UnitOfWork
from omniretail.jobs import api as jobs_api
from omniretail.jobs.schemas import JobRead
from omniretail.kernel.limits import MAX_INT64
from omniretail.kernel.vault import PiiVault, vault_for
from omniretail.marketing import service
from omniretail.marketing.schemas import (
    SegmentCreate,
    SegmentMemberRead,
    SegmentPreview,
    SegmentRead,
    SegmentRule,
    SegmentUpdate,
)

router = APIRouter(prefix="/marketing/segments", tags=["marketing"])


def get_vault(container: ContainerDep) -> PiiVault:
    return vault_for(container.keyring)


VaultDep = Annotated[PiiVault, Depends(get_vault)]


@router.post("/preview", response_model=SegmentPreview)
def preview(
    body: SegmentRule, uow: ReadDep, vault: VaultDep, holds: HoldsDep, container: ContainerDep
) -> SegmentPreview:
    """How many active customers the rule holds now, and ten of them (names masked, and only
    to callers holding customers:read; null to the others); a rule that is not CEL, or is
    over the cost limits of rules, answers 422 with the reason, and one still running after
    ``segment_preview_seconds`` 422 ``segment-rule-too-slow``. Changes nothing."""
    return service.preview(
        uow,
        body.rule,
        vault=vault,
        with_names=holds("customers:read"),
        seconds=container.settings.segment_preview_seconds,
    )


@router.get("", response_model=list[SegmentRead])
def list_segments(uow: ReadDep) -> list[SegmentRead]:
    return service.list_segments(uow)


@router.post("", status_code=201, response_model=SegmentRead)
def create_segment(body: SegmentCreate, use_case: UseCaseDep, actor: ActorDep) -> SegmentRead:
    """Save a segment; its membership is filled by the refresh job queued with it (and kept
    live by events from then on)."""

    def run(uow: UnitOfWork) -> SegmentRead:
        segment = service.create_segment(uow, body)
        service.queue_refresh(uow, actor=actor)
        return segment

    return use_case.run(run, status_code=201)


@router.get("/{segment_id}", response_model=SegmentRead)
def get_segment(segment_id: IdPath, uow: ReadDep) -> SegmentRead:
    return service.get_segment(uow, segment_id)


@router.patch("/{segment_id}", response_model=SegmentRead)
def update_segment(
    segment_id: IdPath, body: SegmentUpdate, use_case: UseCaseDep, actor: ActorDep
) -> SegmentRead:
    """Change the name, description or rule (a new rule queues a refresh)."""

    def run(uow: UnitOfWork) -> SegmentRead:
        segment = service.update_segment(uow, segment_id, body)
        if body.rule is not None:
            service.queue_refresh(uow, actor=actor)
        return segment

    return use_case.run(run)


@router.delete("/{segment_id}", status_code=204)
def delete_segment(segment_id: IdPath, use_case: UseCaseDep) -> Response:
    use_case.run(no_content(lambda uow: service.delete_segment(uow, segment_id)), status_code=204)
    return Response(status_code=204)


@router.get("/{segment_id}/members", response_model=list[SegmentMemberRead])
def members(
    segment_id: IdPath,
    uow: ReadDep,
    after: Annotated[int, Query(ge=0, le=MAX_INT64, description="customer id to page after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SegmentMemberRead]:
    """Members in customer id order; the next page starts after the last id."""
    return service.members(uow, segment_id, after=after, limit=limit)


@router.post("/{segment_id}/refresh", status_code=202, response_model=JobRead)
def refresh_segment(
    segment_id: IdPath, use_case: UseCaseDep, actor: ActorDep, response: Response
) -> JobRead:
    """Refresh now: queue the refresh job for this segment (the job re-evaluates every segment,
    this one included; poll ``Location``, then read the segment's ``refreshed_at`` and
    ``member_count``); 404 for no such segment, 409 while a refresh is queued or running."""
    return jobs_api.queue(
        use_case, response, lambda uow: service.refresh_segment(uow, segment_id, actor=actor)
    )


@router.post("/refresh", status_code=202, response_model=JobRead)
def refresh(use_case: UseCaseDep, actor: ActorDep, response: Response) -> JobRead:
    """Queue the full re-evaluation of every segment (the safety net under the live
    updates); 409 while one is queued or running."""
    return jobs_api.queue(use_case, response, lambda uow: service.start_refresh(uow, actor=actor))
