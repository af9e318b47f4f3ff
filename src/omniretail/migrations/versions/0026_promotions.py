"""promotions and coupons: promotions (CEL condition, JSON effect, window, priority, stacking),
coupons with use limits and budgets, their redemptions; carts keep the codes applied

Revision ID: 0026_promotions
Revises: 0025_pricing
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0026_promotions"
down_revision: str | None = "0025_pricing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "promotions",
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("effect", JSONType, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("requires_coupon", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from",
            name=op.f("ck_promotions_window"),
        ),
        sa.CheckConstraint(
            "priority BETWEEN -1000000 AND 1000000", name=op.f("ck_promotions_priority_range")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_promotions")),
    )
    op.create_index("ix_promotions_active", "promotions", ["active"])
    op.create_table(
        "coupons",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("promotion_code", sa.String(length=60), nullable=False),
        sa.Column("batch", sa.String(length=60), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("per_customer", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("budget", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("spent", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)", name=op.f("ck_coupons_uses")
        ),
        sa.CheckConstraint(
            "spent >= 0 AND (budget IS NULL OR spent <= budget)", name=op.f("ck_coupons_budget")
        ),
        sa.CheckConstraint(
            "per_customer IS NULL OR per_customer > 0", name=op.f("ck_coupons_per_customer")
        ),
        sa.ForeignKeyConstraint(
            ["promotion_code"],
            ["promotions.code"],
            name=op.f("fk_coupons_promotion_code_promotions"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_coupons")),
    )
    op.create_index(op.f("ix_coupons_promotion_code"), "coupons", ["promotion_code"])
    op.create_index(op.f("ix_coupons_batch"), "coupons", ["batch"])
    op.create_table(
        "coupon_redemptions",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("coupon_code", sa.String(length=40), nullable=False),
        sa.Column("order_number", sa.String(length=40), nullable=False),
        sa.Column("customer_id", BigIntPK, nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["coupon_code"],
            ["coupons.code"],
            name=op.f("fk_coupon_redemptions_coupon_code_coupons"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_coupon_redemptions_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
        sa.UniqueConstraint(
            "coupon_code",
            "order_number",
            name=op.f("uq_coupon_redemptions_coupon_code_order_number"),
        ),
    )
    op.create_index(
        op.f("ix_coupon_redemptions_order_number"), "coupon_redemptions", ["order_number"]
    )
    op.create_index(
        "ix_coupon_redemptions_coupon_customer",
        "coupon_redemptions",
        ["coupon_code", "customer_id"],
    )
    op.add_column("carts", sa.Column("coupon_codes", sa.String(length=250), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("carts") as batch:
        batch.drop_column("coupon_codes")
    op.drop_table("coupon_redemptions")
    op.drop_table("coupons")
    op.drop_index("ix_promotions_active", table_name="promotions")
    op.drop_table("promotions")
