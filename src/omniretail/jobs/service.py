"""Requesting and reading jobs (use cases; the runner executes them)."""

from __future__ import annotations

from omniretail.db.uow import UnitOfWork
from omniretail.jobs import repository
from omniretail.jobs.errors import JobAlreadyActive, UnknownJob
from omniretail.jobs.models import JobState

# Re-exported for the domains that declare job kinds (loyalty).
from omniretail.jobs.runner import JobContext as JobContext
from omniretail.jobs.runner import JobKinds as JobKinds
from omniretail.jobs.schemas import JobRead
from omniretail.kernel.ids import new_id


def enqueue(uow: UnitOfWork, kind: str, *, actor: str) -> JobRead:
    """Queue a job of ``kind``; refused (409, naming it) while one of that kind is queued or
    running, in this process or any other."""
    job_id = new_id()
    row = {
        "id": job_id,
        "kind": kind,
        "state": JobState.QUEUED.value,
        "requested_by": actor,
        "attempts": 0,
        "progress_done": 0,
        "created_at": uow.now,
        "updated_at": uow.now,
    }
    if not repository.insert_unless_active(uow.session, row):
        active = repository.active_of_kind(uow.session, kind)
        detail = f"a {kind} job is already {active.state if active else 'active'}"
        if active is None:  # it finished between the insert and this read: ask again
            raise JobAlreadyActive(detail + "; retry")
        raise JobAlreadyActive(
            f"{detail} ({active.id}); poll it at /api/v1/jobs/{active.id}",
            job_id=active.id,
            job_state=active.state,
            job_location=f"/api/v1/jobs/{active.id}",
        )
    found = repository.get(uow.session, job_id)
    assert found is not None
    return JobRead.model_validate(found)


def get(uow: UnitOfWork, job_id: str) -> JobRead:
    found = repository.get(uow.session, job_id)
    if found is None:
        raise UnknownJob(f"no job {job_id}")
    return JobRead.model_validate(found)


def recent(uow: UnitOfWork, *, kind: str | None = None, limit: int = 50) -> list[JobRead]:
    return [JobRead.model_validate(j) for j in repository.recent(uow.session, kind, limit)]
