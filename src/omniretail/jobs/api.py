"""HTTP routes to poll jobs (they are started by their domain's routes, e.g. loyalty)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from omniretail.api.deps import ReadDep, UseCase
from omniretail.db.uow import UnitOfWork
from omniretail.jobs import service
from omniretail.jobs.schemas import JobRead

router = APIRouter(prefix="/jobs", tags=["jobs"])


def queue(
    use_case: UseCase, response: Response, enqueue: Callable[[UnitOfWork], JobRead]
) -> JobRead:
    """A domain route's answer to "queue a durable job": ``enqueue`` (``service.enqueue`` or
    a use case around it) run as 202 with the job to poll in ``Location``; the 409 of a job of
    its kind already queued or running is the enqueue's."""
    job = use_case.run(enqueue, status_code=202)
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return job


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
