"""HTTP routes to poll jobs (they are started by their domain's routes, e.g. loyalty)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from omniretail.api.deps import ReadDep
from omniretail.jobs import service
from omniretail.jobs.schemas import JobRead

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", response_model=list[JobRead])
def list_jobs(
    uow: ReadDep,
    kind: Annotated[str | None, Query(max_length=60)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[JobRead]:
    """The most recent jobs, newest first."""
    return service.recent(uow, kind=kind, limit=limit)


@router.get("/{job_id}", response_model=JobRead)
def get_job(job_id: Annotated[str, Path(max_length=36)], uow: ReadDep) -> JobRead:
    """State (queued, running, succeeded, failed), progress, result or error."""
    return service.get(uow, job_id)
