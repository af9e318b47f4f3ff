"""marketing segments: ``marketing_segments`` (a name and a CEL rule) and
``marketing_segment_members`` (who is in each, since when)

Revision ID: 0033_segments
Revises: 0032_coupon_owner
Create Date: 2026-12-05 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033_segments"
down_revision: str | None = "0032_coupon_owner"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "marketing_segments",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_segments")),
        sa.UniqueConstraint("name", name=op.f("uq_marketing_segments_name")),
    )
    op.create_table(
        "marketing_segment_members",
        sa.Column("segment_id", BigIntPK, nullable=False),
        sa.Column("customer_id", BigIntPK, nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_marketing_segment_members_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["marketing_segments.id"],
            name=op.f("fk_marketing_segment_members_segment_id_marketing_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "segment_id", "customer_id", name=op.f("pk_marketing_segment_members")
        ),
    )
    op.create_index(
        "ix_marketing_segment_members_customer",
        "marketing_segment_members",
        ["customer_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_marketing_segment_members_customer", table_name="marketing_segment_members")
    op.drop_table("marketing_segment_members")
    op.drop_table("marketing_segments")
