"""dynamic pricing: rules (CEL condition, percent step, guardrails), runs, and the change log
with at most one change per SKU, channel and day

Revision ID: 0030_dynamic_pricing
Revises: 0029_fees
Create Date: 2026-12-05 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0030_dynamic_pricing"
down_revision: str | None = "0029_fees"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
Money = sa.Numeric(precision=14, scale=3)
Percent = sa.Numeric(precision=6, scale=2)


def upgrade() -> None:
    op.create_table(
        "dynamic_price_rules",
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("channel_code", sa.String(length=40), nullable=False),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("percent", Percent, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("floor_amount", Money, nullable=True),
        sa.Column("floor_percent", Percent, nullable=True),
        sa.Column("ceiling_amount", Money, nullable=True),
        sa.Column("ceiling_percent", Percent, nullable=True),
        sa.Column("max_step_percent", Percent, nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "percent <> 0 AND percent BETWEEN -50 AND 50",
            name=op.f("ck_dynamic_price_rules_percent_range"),
        ),
        sa.CheckConstraint(
            "priority BETWEEN -1000000 AND 1000000",
            name=op.f("ck_dynamic_price_rules_priority_range"),
        ),
        sa.CheckConstraint(
            "floor_amount IS NULL OR floor_amount >= 0",
            name=op.f("ck_dynamic_price_rules_floor_amount"),
        ),
        sa.CheckConstraint(
            "ceiling_amount IS NULL OR ceiling_amount > 0",
            name=op.f("ck_dynamic_price_rules_ceiling_amount"),
        ),
        sa.CheckConstraint(
            "floor_percent IS NULL OR floor_percent BETWEEN 0 AND 1000",
            name=op.f("ck_dynamic_price_rules_floor_percent"),
        ),
        sa.CheckConstraint(
            "ceiling_percent IS NULL OR ceiling_percent BETWEEN 1 AND 1000",
            name=op.f("ck_dynamic_price_rules_ceiling_percent"),
        ),
        sa.CheckConstraint(
            "max_step_percent IS NULL OR max_step_percent BETWEEN 0.01 AND 50",
            name=op.f("ck_dynamic_price_rules_max_step"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_code"],
            ["channels.code"],
            name=op.f("fk_dynamic_price_rules_channel_code_channels"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_dynamic_price_rules")),
    )
    op.create_index(
        "ix_dynamic_price_rules_channel", "dynamic_price_rules", ["channel_code", "active"]
    )
    op.create_table(
        "dynamic_price_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evaluated", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dynamic_price_runs")),
    )
    op.create_index("ix_dynamic_price_runs_started", "dynamic_price_runs", ["started_at"])
    op.create_table(
        "dynamic_price_changes",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("sku_code", sa.String(length=40), nullable=False),
        sa.Column("channel_code", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("list_code", sa.String(length=60), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("old_price", Money, nullable=False),
        sa.Column("old_list", sa.String(length=60), nullable=True),
        sa.Column("new_price", Money, nullable=False),
        sa.Column("rule_code", sa.String(length=60), nullable=False),
        sa.Column("facts", JSONType, nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reverted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverted_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "old_price >= 0 AND new_price >= 0",
            name=op.f("ck_dynamic_price_changes_prices_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["dynamic_price_runs.id"],
            name=op.f("fk_dynamic_price_changes_run_id_dynamic_price_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_code"], ["skus.code"], name=op.f("fk_dynamic_price_changes_sku_code_skus")
        ),
        sa.ForeignKeyConstraint(
            ["channel_code"],
            ["channels.code"],
            name=op.f("fk_dynamic_price_changes_channel_code_channels"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dynamic_price_changes")),
        # At most one change per SKU per channel per day.
        sa.UniqueConstraint(
            "sku_code",
            "channel_code",
            "day",
            name=op.f("uq_dynamic_price_changes_sku_code_channel_code_day"),
        ),
    )
    op.create_index(op.f("ix_dynamic_price_changes_run_id"), "dynamic_price_changes", ["run_id"])
    op.create_index(
        "ix_dynamic_price_changes_channel_at", "dynamic_price_changes", ["channel_code", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_dynamic_price_changes_channel_at", table_name="dynamic_price_changes")
    op.drop_index(op.f("ix_dynamic_price_changes_run_id"), table_name="dynamic_price_changes")
    op.drop_table("dynamic_price_changes")
    op.drop_index("ix_dynamic_price_runs_started", table_name="dynamic_price_runs")
    op.drop_table("dynamic_price_runs")
    op.drop_index("ix_dynamic_price_rules_channel", table_name="dynamic_price_rules")
    op.drop_table("dynamic_price_rules")
