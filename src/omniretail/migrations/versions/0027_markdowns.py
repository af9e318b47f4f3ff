"""markdowns: suggested price ladders for slow stock and their steps

Revision ID: 0027_markdown
Revises: 0026_promotions
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0027_markdown"
down_revision: str | None = "0026_promotions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "markdown_suggestions",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("sku_code", sa.String(length=40), nullable=False),
        sa.Column("location_code", sa.String(length=40), nullable=False),
        sa.Column("channel_code", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("full_price", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("forecast_units", sa.Float(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("clear_by", sa.Date(), nullable=False),
        sa.Column("expected_units", sa.Float(), nullable=False),
        sa.Column("expected_revenue", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("baseline_units", sa.Float(), nullable=False),
        sa.Column("baseline_revenue", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("expected_leftover", sa.Float(), nullable=False),
        sa.Column("clears", sa.Boolean(), nullable=False),
        sa.Column("elasticity", sa.Float(), nullable=False),
        sa.Column("guardrails", JSONType, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.CheckConstraint(
            "status IN ('suggested', 'approved', 'rejected')",
            name=op.f("ck_markdown_suggestions_markdown_status_known"),
        ),
        sa.CheckConstraint(
            "on_hand >= 0 AND full_price >= 0",
            name=op.f("ck_markdown_suggestions_markdown_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_code"], ["skus.code"], name=op.f("fk_markdown_suggestions_sku_code_skus")
        ),
        sa.ForeignKeyConstraint(
            ["location_code"],
            ["locations.code"],
            name=op.f("fk_markdown_suggestions_location_code_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_code"],
            ["channels.code"],
            name=op.f("fk_markdown_suggestions_channel_code_channels"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_markdown_suggestions")),
    )
    op.create_index(op.f("ix_markdown_suggestions_sku_code"), "markdown_suggestions", ["sku_code"])
    op.create_index(
        op.f("ix_markdown_suggestions_location_code"), "markdown_suggestions", ["location_code"]
    )
    op.create_index("ix_markdown_suggestions_status", "markdown_suggestions", ["status"])
    op.create_table(
        "markdown_steps",
        sa.Column("suggestion_id", BigIntPK, nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("weeks", sa.Integer(), nullable=False),
        sa.Column("discount", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("expected_units", sa.Float(), nullable=False),
        sa.Column("expected_revenue", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("price_list_code", sa.String(length=60), nullable=True),
        sa.CheckConstraint(
            "discount >= 0 AND discount < 1", name=op.f("ck_markdown_steps_markdown_discount_range")
        ),
        sa.CheckConstraint("weeks >= 1", name=op.f("ck_markdown_steps_markdown_weeks_positive")),
        sa.ForeignKeyConstraint(
            ["suggestion_id"],
            ["markdown_suggestions.id"],
            name=op.f("fk_markdown_steps_suggestion_id_markdown_suggestions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("suggestion_id", "step", name=op.f("pk_markdown_steps")),
    )


def downgrade() -> None:
    op.drop_table("markdown_steps")
    op.drop_index("ix_markdown_suggestions_status", table_name="markdown_suggestions")
    op.drop_index(op.f("ix_markdown_suggestions_location_code"), table_name="markdown_suggestions")
    op.drop_index(op.f("ix_markdown_suggestions_sku_code"), table_name="markdown_suggestions")
    op.drop_table("markdown_suggestions")
