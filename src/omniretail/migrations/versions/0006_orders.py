"""orders: carts, fulfilments, routing, prices

Revision ID: 0006_orders
Revises: 0001
Create Date: 2026-11-22 19:43:29.955761
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_orders"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_rule_sets",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version > 0", name=op.f("ck_routing_rule_sets_version_positive")),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_routing_rule_sets")),
    )
    op.create_table(
        "capacity_usage",
        sa.Column("location_code", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_capacity_usage_used_not_negative")),
        sa.ForeignKeyConstraint(
            ["location_code"],
            ["locations.code"],
            name=op.f("fk_capacity_usage_location_code_locations"),
        ),
        sa.PrimaryKeyConstraint("location_code", "day", name=op.f("pk_capacity_usage")),
    )
    op.create_table(
        "carts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("channel_code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("merged_into", sa.String(length=36), nullable=True),
        sa.Column("order_number", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'checked_out', 'merged')", name=op.f("ck_carts_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["channel_code"], ["channels.code"], name=op.f("fk_carts_channel_code_channels")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_carts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carts")),
        sa.UniqueConstraint("token", name=op.f("uq_carts_token")),
    )
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.create_index(
            "uq_carts_active_customer",
            ["customer_id"],
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "cart_lines",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cart_id", sa.String(length=36), nullable=False),
        sa.Column("sku_code", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("location_code", sa.String(length=40), nullable=False),
        sa.Column("hold_id", sa.String(length=36), nullable=True),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel_code", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_cart_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name=op.f("fk_cart_lines_cart_id_carts")
        ),
        sa.ForeignKeyConstraint(
            ["channel_code"], ["channels.code"], name=op.f("fk_cart_lines_channel_code_channels")
        ),
        sa.ForeignKeyConstraint(
            ["location_code"],
            ["locations.code"],
            name=op.f("fk_cart_lines_location_code_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_code"], ["skus.code"], name=op.f("fk_cart_lines_sku_code_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_lines")),
        sa.UniqueConstraint("cart_id", "sku_code", name=op.f("uq_cart_lines_cart_id_sku_code")),
    )
    op.create_table(
        "fulfilments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("location_code", sa.String(length=40), nullable=False),
        sa.Column("pickup_location_code", sa.String(length=40), nullable=True),
        sa.Column("promised_date", sa.Date(), nullable=False),
        sa.Column("capacity_day", sa.Date(), nullable=True),
        sa.Column("transfer_id", sa.String(length=36), nullable=True),
        sa.Column("pickup_code", sa.String(length=12), nullable=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("collect_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=60), nullable=True),
        sa.Column("tracking_number", sa.String(length=120), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "method IN ('ship_to_home', 'pickup_in_store', 'ship_to_store', 'locker', 'curbside')",
            name=op.f("ck_fulfilments_method_known"),
        ),
        sa.CheckConstraint(
            "status IN ('created', 'accepted', 'picking', 'packed', 'shipped', 'delivered',"
            " 'ready_for_pickup', 'collected', 'rejected', 'cancelled', 'returned_to_stock')",
            name=op.f("ck_fulfilments_status_known"),
        ),
        sa.CheckConstraint(
            "reminders_sent >= 0", name=op.f("ck_fulfilments_reminders_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["location_code"],
            ["locations.code"],
            name=op.f("fk_fulfilments_location_code_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_fulfilments_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["pickup_location_code"],
            ["locations.code"],
            name=op.f("fk_fulfilments_pickup_location_code_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfilments")),
    )
    with op.batch_alter_table("fulfilments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fulfilments_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_fulfilments_pickup_due", ["status", "collect_by"], unique=False)

    op.create_table(
        "prices",
        sa.Column("sku_code", sa.String(length=40), nullable=False),
        sa.Column("channel_code", sa.String(length=40), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_prices_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["channel_code"], ["channels.code"], name=op.f("fk_prices_channel_code_channels")
        ),
        sa.ForeignKeyConstraint(["sku_code"], ["skus.code"], name=op.f("fk_prices_sku_code_skus")),
        sa.PrimaryKeyConstraint("sku_code", "channel_code", name=op.f("pk_prices")),
    )
    op.create_table(
        "fulfilment_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fulfilment_id", sa.String(length=36), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fulfilment_id"],
            ["fulfilments.id"],
            name=op.f("fk_fulfilment_log_fulfilment_id_fulfilments"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_fulfilment_log_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfilment_log")),
    )
    with op.batch_alter_table("fulfilment_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fulfilment_log_order_id"), ["order_id"], unique=False)

    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fulfilment_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("hold_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("status", sa.String(length=12), nullable=True))
        batch_op.add_column(
            sa.Column(
                "quantity_returned", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )
        batch_op.create_index(
            batch_op.f("ix_order_lines_fulfilment_id"), ["fulfilment_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_order_lines_fulfilment_id_fulfilments"),
            "fulfilments",
            ["fulfilment_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            op.f("ck_order_lines_returned_within_quantity"),
            "quantity_returned >= 0 AND quantity_returned <= ABS(quantity)",
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracking_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("cart_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("contact_email", sa.String(length=320), nullable=True))
        batch_op.add_column(
            sa.Column(
                "delivery",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("payment_provider", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("payment_token", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("payment_reference", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("amount_authorised", sa.Numeric(precision=14, scale=2), nullable=True)
        )
        batch_op.add_column(
            sa.Column("amount_captured", sa.Numeric(precision=14, scale=2), nullable=True)
        )
        batch_op.add_column(
            sa.Column("amount_voided", sa.Numeric(precision=14, scale=2), nullable=True)
        )
        batch_op.add_column(sa.Column("routing_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_orders_cart_id"), ["cart_id"])
        batch_op.create_unique_constraint(
            batch_op.f("uq_orders_tracking_token"), ["tracking_token"]
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_orders_tracking_token"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_orders_cart_id"), type_="unique")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("routing_version")
        batch_op.drop_column("amount_voided")
        batch_op.drop_column("amount_captured")
        batch_op.drop_column("amount_authorised")
        batch_op.drop_column("payment_reference")
        batch_op.drop_column("payment_token")
        batch_op.drop_column("payment_provider")
        batch_op.drop_column("delivery")
        batch_op.drop_column("contact_email")
        batch_op.drop_column("cart_id")
        batch_op.drop_column("tracking_token")

    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_order_lines_returned_within_quantity"), type_="check"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_order_lines_fulfilment_id_fulfilments"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_order_lines_fulfilment_id"))
        batch_op.drop_column("quantity_returned")
        batch_op.drop_column("status")
        batch_op.drop_column("hold_id")
        batch_op.drop_column("fulfilment_id")

    with op.batch_alter_table("fulfilment_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfilment_log_order_id"))

    op.drop_table("fulfilment_log")
    op.drop_table("prices")
    with op.batch_alter_table("fulfilments", schema=None) as batch_op:
        batch_op.drop_index("ix_fulfilments_pickup_due")
        batch_op.drop_index(batch_op.f("ix_fulfilments_order_id"))

    op.drop_table("fulfilments")
    op.drop_table("cart_lines")
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_carts_active_customer",
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )

    op.drop_table("carts")
    op.drop_table("capacity_usage")
    op.drop_table("routing_rule_sets")
