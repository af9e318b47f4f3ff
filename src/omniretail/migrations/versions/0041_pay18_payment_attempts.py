"""payment attempts: checkout authorises the card between two transactions; a pending
attempt carries the allocation's expiry and the provider's idempotency key (issue 18)

Revision ID: 0041_pay18_payment_attempts
Revises: 0040_support_desk
Create Date: 2026-12-05 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0041_pay18_payment_attempts"
down_revision: str | None = "0040_support_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "order_payment_attempts",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("order_number", sa.String(length=40), nullable=False),
        sa.Column("cart_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("confirmation", JSONType, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("settled_at", TS, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'authorised', 'failed')",
            name=op.f("ck_order_payment_attempts_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_payment_attempts")),
        sa.UniqueConstraint("order_number", name=op.f("uq_order_payment_attempts_order_number")),
    )
    op.create_index(
        "ix_order_payment_attempts_status_expires",
        "order_payment_attempts",
        ["status", "expires_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_order_payment_attempts_status_expires", table_name="order_payment_attempts")
    op.drop_table("order_payment_attempts")
