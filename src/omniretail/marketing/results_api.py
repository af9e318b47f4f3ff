"""HTTP route for a journey's results (``/marketing/journeys/{code}/results``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from omniretail.api.deps import ReplicaReadDep
from omniretail.kernel.limits import MAX_INT64
from omniretail.marketing import service
from omniretail.marketing.journeys_definition import CODE
from omniretail.marketing.schemas import JourneyResultsRead

router = APIRouter(prefix="/marketing/journeys", tags=["marketing"])
CodePath = Annotated[str, Path(pattern=CODE, max_length=60)]


@router.get("/{code}/results", response_model=JourneyResultsRead)
def results(
    code: CodePath,
    uow: ReplicaReadDep,
    version: Annotated[
        int | None, Query(ge=1, le=MAX_INT64, description="only this version's runs")
    ] = None,
) -> JourneyResultsRead:
    """Entered (treated and holdout), conversions and revenue per currency, lift against the
    holdout with its 95 % interval and p-value, sends per channel by status and reason,
    clicks; per step the journal's outcomes and each split's winner."""
    return service.journey_results(uow, code, version=version)
