"""Intelligence's durable jobs (``omniretail.jobs``): the daily dynamic pricing run."""

from __future__ import annotations

from typing import Any

from omniretail.intelligence import dynamic_pricing
from omniretail.jobs.runner import JobContext, JobKinds

DYNAMIC_PRICING = dynamic_pricing.JOB_KIND


def _dynamic_pricing(context: JobContext) -> dict[str, Any]:
    """One run in one transaction; safe to run again (a SKU changes at most once a day)."""
    with context.uow_factory() as uow:
        result = dynamic_pricing.run(uow, actor=context.actor, progress=context.progress)
    return {"run": result.id, "evaluated": result.evaluated, "changed": result.changed}


def install(kinds: JobKinds) -> None:
    kinds.add(DYNAMIC_PRICING, _dynamic_pricing)
