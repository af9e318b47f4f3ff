"""delivery and pickup fees per channel and fulfilment method; the fee an order charged

Revision ID: 0029_fees
Revises: 0028_loyalty_coupon_grants
Create Date: 2026-12-05 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0029_fees"
down_revision: str | None = "0028_loyalty_coupon_grants"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "fees",
        sa.Column("channel_code", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("free_over", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("tax_class", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_fees_amount_not_negative")),
        sa.CheckConstraint(
            "free_over IS NULL OR free_over > 0", name=op.f("ck_fees_free_over_positive")
        ),
        sa.ForeignKeyConstraint(
            ["channel_code"], ["channels.code"], name=op.f("fk_fees_channel_code_channels")
        ),
        sa.ForeignKeyConstraint(
            ["tax_class"], ["tax_classes.code"], name=op.f("fk_fees_tax_class_tax_classes")
        ),
        sa.PrimaryKeyConstraint("channel_code", "method", name=op.f("pk_fees")),
    )
    op.add_column("orders", sa.Column("fee", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("fee")
    op.drop_table("fees")
