"""Queries on the jobs table. Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite
serialises writers with ``BEGIN IMMEDIATE``), like the outbox relay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from omniretail.db.sql import insert_for
from omniretail.jobs.models import ACTIVE, ACTIVE_STATES, Job, JobState


def insert_unless_active(session: Session, row: dict[str, Any]) -> bool:
    """Insert a queued job unless one of its kind is queued or running (the partial unique
    index decides, so two processes asking at once get one job); False if one was."""
    statement = (
        insert_for(session)(Job)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["kind"], index_where=ACTIVE)
        .returning(Job.id)
    )
    return session.scalar(statement) is not None


def active_of_kind(session: Session, kind: str) -> Job | None:
    return session.scalar(select(Job).where(Job.kind == kind, Job.state.in_(ACTIVE_STATES)))


def get(session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id)


def recent(session: Session, kind: str | None, limit: int) -> list[Job]:
    query = select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query))


def lock_next_due(session: Session, now: datetime) -> Job | None:
    """The oldest queued job, or a running one whose worker's lease ran out, locked."""
    query = (
        select(Job)
        .where(
            or_(
                Job.state == JobState.QUEUED.value,
                and_(Job.state == JobState.RUNNING.value, Job.lease_until <= now),
            )
        )
        .order_by(Job.created_at, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.scalar(query)


def update_claimed(session: Session, job_id: str, token: str, values: dict[str, Any]) -> bool:
    """Write to a job only while ``token`` still holds it; False if the claim was lost."""
    updated = session.scalar(
        update(Job)
        .where(Job.id == job_id, Job.claim_token == token, Job.state == JobState.RUNNING.value)
        .values(**values)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return updated is not None
