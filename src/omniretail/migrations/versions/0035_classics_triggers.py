"""marketing retail triggers: back-in-stock alerts, the last price seen, trigger marks

Revision ID: 0035_classics_triggers
Revises: 0034_marketing_messages
Create Date: 2026-12-05 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035_classics_triggers"
down_revision: str | None = "0034_marketing_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "marketing_stock_alerts",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("customer_id", BigIntPK, nullable=False),
        sa.Column("sku_code", sa.String(length=40), nullable=False),
        sa.Column("location_code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('waiting', 'notified', 'cancelled')",
            name=op.f("ck_marketing_stock_alerts_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_marketing_stock_alerts_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["location_code"],
            ["locations.code"],
            name=op.f("fk_marketing_stock_alerts_location_code_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_code"], ["skus.code"], name=op.f("fk_marketing_stock_alerts_sku_code_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_stock_alerts")),
    )
    op.create_index(
        "uq_marketing_stock_alerts_waiting",
        "marketing_stock_alerts",
        ["customer_id", "sku_code", "location_code"],
        unique=True,
        postgresql_where=sa.text("status = 'waiting'"),
        sqlite_where=sa.text("status = 'waiting'"),
    )
    op.create_index(
        "ix_marketing_stock_alerts_sku",
        "marketing_stock_alerts",
        ["sku_code", "location_code", "status"],
    )
    op.create_table(
        "marketing_seen_prices",
        sa.Column("sku_code", sa.String(length=40), nullable=False),
        sa.Column("channel_code", sa.String(length=40), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sku_code", "channel_code", name=op.f("pk_marketing_seen_prices")),
    )
    op.create_table(
        "marketing_trigger_marks",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_marketing_trigger_marks")),
    )


def downgrade() -> None:
    op.drop_table("marketing_trigger_marks")
    op.drop_table("marketing_seen_prices")
    op.drop_index("ix_marketing_stock_alerts_sku", table_name="marketing_stock_alerts")
    op.drop_index("uq_marketing_stock_alerts_waiting", table_name="marketing_stock_alerts")
    op.drop_table("marketing_stock_alerts")
