"""Journey tables: a journey, its versions (definitions), customers' runs and the journal."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK

ACTIVE_RUN = text("state = 'active'")


class Journey(Base):
    __tablename__ = "marketing_journeys"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'live', 'paused', 'archived')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    live_version: Mapped[int | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class JourneyVersion(Base):
    __tablename__ = "marketing_journey_versions"
    __table_args__ = (UniqueConstraint("journey_id", "version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("marketing_journeys.id"))
    version: Mapped[int]
    definition: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class Run(Base):
    """One customer's way through one version of a journey."""

    __tablename__ = "marketing_runs"
    __table_args__ = (
        UniqueConstraint("journey_id", "customer_id", "occurrence"),
        CheckConstraint("state IN ('active', 'completed', 'exited')", name="state_known"),
        # Never twice at a time: the database refuses a second active run.
        Index(
            "ux_marketing_runs_active",
            "journey_id",
            "customer_id",
            unique=True,
            sqlite_where=ACTIVE_RUN,
            postgresql_where=ACTIVE_RUN,
        ),
        Index("ix_marketing_runs_due", "state", "due_at"),
        Index("ix_marketing_runs_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("marketing_journeys.id"))
    version: Mapped[int]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    occurrence: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(20), default="active")
    step_id: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    holdout: Mapped[bool] = mapped_column(default=False)
    branches: Mapped[dict[str, Any]] = mapped_column(default=dict)
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    entered_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    exit_reason: Mapped[str | None] = mapped_column(String(80))
    converted_at: Mapped[datetime | None]
    conversion_ref: Mapped[str | None] = mapped_column(String(80))
    revenue: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))


class RunStep(Base):
    """The journal: what each step did for each run (results per step)."""

    __tablename__ = "marketing_run_steps"
    __table_args__ = (
        UniqueConstraint("run_id", "step_id"),
        Index("ix_marketing_run_steps_journey", "journey_id", "step_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("marketing_runs.id"))
    journey_id: Mapped[int] = mapped_column(BigIntPK)
    version: Mapped[int]
    step_id: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime]
