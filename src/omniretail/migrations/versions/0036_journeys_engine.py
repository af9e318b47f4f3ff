"""journeys engine: journeys, their versions, customers' runs and the step journal

Revision ID: 0036_journeys_engine
Revises: 0035_classics_triggers
Create Date: 2026-12-05 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0036_journeys_engine"
down_revision: str | None = "0035_classics_triggers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
ACTIVE = sa.text("state = 'active'")


def upgrade() -> None:
    op.create_table(
        "marketing_journeys",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("live_version", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'live', 'paused', 'archived')",
            name=op.f("ck_marketing_journeys_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_journeys")),
        sa.UniqueConstraint("code", name=op.f("uq_marketing_journeys_code")),
    )
    op.create_table(
        "marketing_journey_versions",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("journey_id", BigIntPK, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", JSONType, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["marketing_journeys.id"],
            name=op.f("fk_marketing_journey_versions_journey_id_marketing_journeys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_journey_versions")),
        sa.UniqueConstraint(
            "journey_id", "version", name=op.f("uq_marketing_journey_versions_journey_id_version")
        ),
    )
    op.create_table(
        "marketing_runs",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("journey_id", BigIntPK, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("customer_id", BigIntPK, nullable=False),
        sa.Column("occurrence", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("step_id", sa.String(length=40), nullable=True),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("branches", JSONType, nullable=False),
        sa.Column("context", JSONType, nullable=False),
        sa.Column("entered_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("exit_reason", sa.String(length=80), nullable=True),
        sa.Column("converted_at", TS, nullable=True),
        sa.Column("conversion_ref", sa.String(length=80), nullable=True),
        sa.Column("revenue", sa.Numeric(12, 2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.CheckConstraint(
            "state IN ('active', 'completed', 'exited')",
            name=op.f("ck_marketing_runs_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_marketing_runs_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["marketing_journeys.id"],
            name=op.f("fk_marketing_runs_journey_id_marketing_journeys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_runs")),
        sa.UniqueConstraint(
            "journey_id",
            "customer_id",
            "occurrence",
            name=op.f("uq_marketing_runs_journey_id_customer_id_occurrence"),
        ),
    )
    op.create_index(
        "ux_marketing_runs_active",
        "marketing_runs",
        ["journey_id", "customer_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index("ix_marketing_runs_due", "marketing_runs", ["state", "due_at"])
    op.create_index("ix_marketing_runs_customer", "marketing_runs", ["customer_id"])
    op.create_table(
        "marketing_run_steps",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("run_id", BigIntPK, nullable=False),
        sa.Column("journey_id", BigIntPK, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=60), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["marketing_runs.id"],
            name=op.f("fk_marketing_run_steps_run_id_marketing_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_run_steps")),
        sa.UniqueConstraint(
            "run_id", "step_id", name=op.f("uq_marketing_run_steps_run_id_step_id")
        ),
    )
    op.create_index(
        "ix_marketing_run_steps_journey", "marketing_run_steps", ["journey_id", "step_id"]
    )


def downgrade() -> None:
    op.drop_table("marketing_run_steps")
    op.drop_table("marketing_runs")
    op.drop_table("marketing_journey_versions")
    op.drop_table("marketing_journeys")
