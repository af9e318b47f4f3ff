"""Marketing's long work as durable jobs (omniretail.jobs)."""

from __future__ import annotations

from typing import Any

from omniretail.jobs.runner import JobContext, JobKinds
from omniretail.marketing import service

SEGMENTS_REFRESH = service.REFRESH_JOB


def _refresh(context: JobContext) -> dict[str, Any]:
    """Every segment against every active customer, a transaction per batch; a job taken
    over after a crash starts again from the first customer (batches change only what
    differs, so nothing is emitted twice)."""
    report = service.refresh(
        context.uow_factory,
        progress=lambda done, total: context.progress(done, f"{done} of {total} customers"),
    )
    return report.model_dump()


def install(kinds: JobKinds) -> None:
    kinds.add(SEGMENTS_REFRESH, _refresh)
