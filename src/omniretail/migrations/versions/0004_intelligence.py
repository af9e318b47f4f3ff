"""intelligence results: customer scores, forecasts, recommendations, associations

Revision ID: 0004_intelligence
Revises: 0001
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_intelligence"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_scores",
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("segment", sa.String(length=30), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", sa.Float(), nullable=False),
        sa.Column("r_score", sa.Integer(), nullable=True),
        sa.Column("f_score", sa.Integer(), nullable=True),
        sa.Column("m_score", sa.Integer(), nullable=True),
        sa.Column("expected_revenue", sa.Float(), nullable=True),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column("horizon_weeks", sa.Integer(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "expected_revenue IS NULL OR expected_revenue >= 0",
            name=op.f("ck_customer_scores_clv_ok"),
        ),
        sa.CheckConstraint(
            "p_alive IS NULL OR (p_alive >= 0 AND p_alive <= 1)",
            name=op.f("ck_customer_scores_p_alive_range"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_scores_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_scores")),
    )
    op.create_index(
        op.f("ix_customer_scores_segment"), "customer_scores", ["segment"], unique=False
    )
    op.create_table(
        "product_forecasts",
        sa.Column("sku_code", sa.String(length=40), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("model", sa.String(length=40), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "quantity >= 0", name=op.f("ck_product_forecasts_quantity_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["sku_code"], ["skus.code"], name=op.f("fk_product_forecasts_sku_code_skus")
        ),
        sa.PrimaryKeyConstraint("sku_code", "period_start", name=op.f("pk_product_forecasts")),
    )
    op.create_table(
        "recommendations",
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("sku_code", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('next', 'new')", name=op.f("ck_recommendations_kind_known")),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_recommendations_rank_positive")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_recommendations_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["sku_code"], ["skus.code"], name=op.f("fk_recommendations_sku_code_skus")
        ),
        sa.PrimaryKeyConstraint("customer_id", "kind", "rank", name=op.f("pk_recommendations")),
    )
    op.create_table(
        "popular_products",
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("sku_code", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sku_code"], ["skus.code"], name=op.f("fk_popular_products_sku_code_skus")
        ),
        sa.PrimaryKeyConstraint("rank", name=op.f("pk_popular_products")),
    )
    op.create_table(
        "product_associations",
        sa.Column("sku_code", sa.String(length=40), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("other_sku_code", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["other_sku_code"],
            ["skus.code"],
            name=op.f("fk_product_associations_other_sku_code_skus"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_code"], ["skus.code"], name=op.f("fk_product_associations_sku_code_skus")
        ),
        sa.PrimaryKeyConstraint("sku_code", "rank", name=op.f("pk_product_associations")),
    )
    op.create_index(
        "ix_product_associations_other", "product_associations", ["other_sku_code"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_product_associations_other", table_name="product_associations")
    op.drop_table("product_associations")
    op.drop_table("popular_products")
    op.drop_table("recommendations")
    op.drop_table("product_forecasts")
    op.drop_index(op.f("ix_customer_scores_segment"), table_name="customer_scores")
    op.drop_table("customer_scores")
