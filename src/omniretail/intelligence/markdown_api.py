"""HTTP routes of markdown suggestions: read, approve, reject, refresh as a durable job
(``/api/v1/markdowns``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from omniretail.api.deps import ActorDep, ReadDep, UseCaseDep
from omniretail.api.params import IdPath
from omniretail.catalog.schemas import Code
from omniretail.intelligence import markdown_service as markdowns
from omniretail.intelligence.markdown_schemas import MarkdownDetail, MarkdownRead, MarkdownStatus
from omniretail.jobs import api as jobs
from omniretail.jobs.schemas import JobRead

router = APIRouter(prefix="/markdowns", tags=["markdowns"])


@router.get("", response_model=list[MarkdownRead])
def list_markdowns(
    uow: ReadDep,
    status: MarkdownStatus | None = None,
    location: Code | None = None,
    category: Annotated[str | None, Query(max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[MarkdownRead]:
    """Suggested, approved and rejected ladders, newest first."""
    return markdowns.list_markdowns(
        uow, status=status, location=location, category=category, limit=limit
    )


@router.post("/runs", status_code=202, response_model=JobRead)
def queue_suggestions(use_case: UseCaseDep, actor: ActorDep, response: Response) -> JobRead:
    """Refreshes the suggestions as a durable job (``markdowns.suggest``: the web channel from
    tomorrow, as ``omniretail markdowns suggest`` by default; it replaces the undecided ones);
    202 with the job to poll (``Location``), 409 while one is queued or running."""
    return jobs.queue(use_case, response, lambda uow: markdowns.queue_suggestions(uow, actor=actor))


@router.get("/{suggestion_id}", response_model=MarkdownDetail)
def get_markdown(suggestion_id: IdPath, uow: ReadDep) -> MarkdownDetail:
    """The ladder's steps, guardrails, expected against no markdown and, once approved, the
    units sold since next to the units expected so far."""
    return markdowns.get_markdown(uow, suggestion_id)


@router.post("/{suggestion_id}/approve", response_model=MarkdownDetail)
def approve_markdown(
    suggestion_id: IdPath, use_case: UseCaseDep, actor: ActorDep
) -> MarkdownDetail:
    """Schedules each discounted step as a price list ``MD:<id>:<step>`` in force from the
    step's start: the price changes at that time with no job to run."""
    return use_case.run(lambda uow: markdowns.approve_markdown(uow, suggestion_id, actor=actor))


@router.post("/{suggestion_id}/reject", response_model=MarkdownDetail)
def reject_markdown(suggestion_id: IdPath, use_case: UseCaseDep, actor: ActorDep) -> MarkdownDetail:
    return use_case.run(lambda uow: markdowns.reject_markdown(uow, suggestion_id, actor=actor))
