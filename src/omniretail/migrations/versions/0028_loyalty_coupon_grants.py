"""loyalty coupon grants: the pricing coupons the programme issued (birthday once a year,
welcome once), unique per customer, kind and period

Revision ID: 0028_loyalty_coupon_grants
Revises: 0027_markdown
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_loyalty_coupon_grants"
down_revision: str | None = "0027_markdown"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "loyalty_coupon_grants",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("customer_id", BigIntPK, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("coupon_code", sa.String(length=40), nullable=False),
        sa.Column("promotion", sa.String(length=60), nullable=False),
        sa.Column("description", sa.String(length=120), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('birthday', 'welcome')", name=op.f("ck_loyalty_coupon_grants_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_loyalty_coupon_grants_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_coupon_grants")),
        sa.UniqueConstraint("coupon_code", name=op.f("uq_loyalty_coupon_grants_coupon_code")),
        sa.UniqueConstraint(
            "customer_id",
            "kind",
            "period",
            name=op.f("uq_loyalty_coupon_grants_customer_id_kind_period"),
        ),
    )
    op.create_index(
        op.f("ix_loyalty_coupon_grants_customer_id"), "loyalty_coupon_grants", ["customer_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_loyalty_coupon_grants_customer_id"), table_name="loyalty_coupon_grants")
    op.drop_table("loyalty_coupon_grants")
