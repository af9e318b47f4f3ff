"""The jobs table (no session here)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"  # claimed by a worker until lease_until
    SUCCEEDED = "succeeded"
    FAILED = "failed"


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
# The partial index's condition, the same text on SQLite and PostgreSQL.
ACTIVE = text("state IN ('queued', 'running')")


class Job(Base):
    """One run of a kind of long work (``loyalty.release``), requested over HTTP or the CLI."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(12))
    requested_by: Mapped[str] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    # Set while running: the worker that holds the claim renews lease_until.
    claim_token: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None]
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_message: Mapped[str | None] = mapped_column(String(300))
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (
        # One queued or running job per kind, across every process.
        Index(
            "ux_jobs_active_kind",
            "kind",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
        Index("ix_jobs_state", "state", "created_at"),
        Index("ix_jobs_kind", "kind", "created_at"),
        CheckConstraint(
            "state IN ('queued', 'running', 'succeeded', 'failed')", name="state_known"
        ),
    )
