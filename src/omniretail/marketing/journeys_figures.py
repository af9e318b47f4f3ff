"""What the console's journey pages show beside the definitions: runs counted per journey
(active, entered, converted) in one query, and a journey's most recent runs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from omniretail.db.uow import UnitOfWork
from omniretail.marketing.journeys import get_journey
from omniretail.marketing.journeys_models import Run
from omniretail.marketing.schemas import RunRead


@dataclass(frozen=True)
class JourneyFigures:
    entered: int = 0
    active: int = 0
    converted: int = 0


def journey_figures(uow: UnitOfWork, journey_id: int | None = None) -> dict[int, JourneyFigures]:
    """Runs of every journey with any (or of one), by journey id (holdout runs included)."""
    query = select(
        Run.journey_id,
        func.count(Run.id),
        func.sum(case((Run.state == "active", 1), else_=0)),
        func.count(Run.converted_at),
    )
    if journey_id is not None:
        query = query.where(Run.journey_id == journey_id)
    rows = uow.session.execute(query.group_by(Run.journey_id))
    return {
        int(journey_id): JourneyFigures(int(entered), int(active or 0), int(converted))
        for journey_id, entered, active, converted in rows
    }


def recent_runs(uow: UnitOfWork, code: str, *, limit: int = 20) -> list[RunRead]:
    """The journey's newest runs first."""
    journey = get_journey(uow, code)
    found = uow.session.scalars(
        select(Run).where(Run.journey_id == journey.id).order_by(Run.id.desc()).limit(limit)
    )
    return [RunRead.model_validate(r) for r in found]
