"""Support teams: the queues, their business hours and SLA targets."""

from __future__ import annotations

from sqlalchemy import select

from omniretail.db.uow import UnitOfWork
from omniretail.support.conversations import team_by_code
from omniretail.support.models import Team
from omniretail.support.schemas import TeamRead, TeamWrite


def list_teams(uow: UnitOfWork) -> list[TeamRead]:
    return [
        TeamRead.model_validate(t) for t in uow.session.scalars(select(Team).order_by(Team.code))
    ]


def get_team(uow: UnitOfWork, code: str) -> TeamRead:
    return TeamRead.model_validate(team_by_code(uow, code))


def put_team(uow: UnitOfWork, code: str, data: TeamWrite) -> TeamRead:
    """Creates or replaces a team (open conversations keep the due times they have)."""
    team = uow.session.scalar(select(Team).where(Team.code == code))
    if team is None:
        team = Team(code=code, created_at=uow.now)
        uow.session.add(team)
    team.name = data.name
    team.time_zone = data.time_zone
    team.hours = data.hours
    team.first_response_minutes = data.first_response_minutes
    team.resolution_minutes = data.resolution_minutes
    team.address = data.address.strip().lower() if data.address else None
    team.updated_at = uow.now
    uow.session.flush()
    return TeamRead.model_validate(team)
