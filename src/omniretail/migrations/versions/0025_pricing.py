"""pricing: price lists with priority, scope and time window; tax classes and rates as data
(UK VAT 20/5/0 %, Japan 10/8 %); each channel's currency, tax country and whether its prices
include tax; order lines keep their net, tax and pricing breakdown

Each channel's prices (the ``prices`` table) move into the channel's own list,
``CHANNEL:<code>`` (GBP, priority 0, scoped to the channel), and ``prices`` is dropped.
Existing channels sell in GBP, in GB, with prices entered tax-inclusive.

Revision ID: 0025_pricing
Revises: 0020_search_partial_receipt
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025_pricing"
down_revision: str | None = "0023_return_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

TAX_CLASSES = [
    ("standard", "Standard rate"),
    ("reduced", "Reduced rate"),
    ("zero", "Zero rate"),
]
TAX_RATES = [
    ("GB", "standard", "VAT standard", "0.2000", datetime(2011, 1, 4, tzinfo=UTC)),
    ("GB", "reduced", "VAT reduced", "0.0500", datetime(1997, 9, 1, tzinfo=UTC)),
    ("GB", "zero", "VAT zero", "0.0000", datetime(1973, 4, 1, tzinfo=UTC)),
    # Japan's consumption tax since 1 October 2019 (JST).
    ("JP", "standard", "Consumption tax", "0.1000", datetime(2019, 9, 30, 15, tzinfo=UTC)),
    ("JP", "reduced", "Consumption tax (reduced)", "0.0800", datetime(2019, 9, 30, 15, tzinfo=UTC)),
]


def upgrade() -> None:
    # In place (no table copy on SQLite: other tables' rows refer to channels).
    op.add_column(
        "channels",
        sa.Column("currency", sa.String(length=3), server_default="GBP", nullable=False),
    )
    op.add_column(
        "channels", sa.Column("country", sa.String(length=2), server_default="GB", nullable=False)
    )
    op.add_column(
        "channels",
        sa.Column("prices_include_tax", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    tax_classes = op.create_table(
        "tax_classes",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_tax_classes")),
    )
    tax_rates = op.create_table(
        "tax_rates",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("tax_class", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("rate", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("rate >= 0 AND rate < 1", name=op.f("ck_tax_rates_rate_range")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_tax_rates_window")
        ),
        sa.ForeignKeyConstraint(
            ["tax_class"], ["tax_classes.code"], name=op.f("fk_tax_rates_tax_class_tax_classes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rates")),
        sa.UniqueConstraint(
            "country",
            "tax_class",
            "valid_from",
            name=op.f("uq_tax_rates_country_tax_class_valid_from"),
        ),
    )
    op.create_table(
        "product_tax_classes",
        sa.Column("product_code", sa.String(length=40), nullable=False),
        sa.Column("tax_class", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_code"],
            ["products.code"],
            name=op.f("fk_product_tax_classes_product_code_products"),
        ),
        sa.ForeignKeyConstraint(
            ["tax_class"],
            ["tax_classes.code"],
            name=op.f("fk_product_tax_classes_tax_class_tax_classes"),
        ),
        sa.PrimaryKeyConstraint("product_code", name=op.f("pk_product_tax_classes")),
    )
    op.create_table(
        "price_lists",
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("channel_code", sa.String(length=40), nullable=True),
        sa.Column("location_code", sa.String(length=40), nullable=True),
        sa.Column("customer_tier", sa.String(length=40), nullable=True),
        sa.Column("customer_segment", sa.String(length=60), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "priority BETWEEN -1000000 AND 1000000", name=op.f("ck_price_lists_priority_range")
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from",
            name=op.f("ck_price_lists_window"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_code"], ["channels.code"], name=op.f("fk_price_lists_channel_code_channels")
        ),
        sa.ForeignKeyConstraint(
            ["location_code"],
            ["locations.code"],
            name=op.f("fk_price_lists_location_code_locations"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_price_lists")),
    )
    with op.batch_alter_table("price_lists", schema=None) as batch_op:
        batch_op.create_index(
            "ix_price_lists_currency_active", ["currency", "active"], unique=False
        )
    op.create_table(
        "price_list_entries",
        sa.Column("list_code", sa.String(length=60), nullable=False),
        sa.Column("sku_code", sa.String(length=40), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_price_list_entries_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["list_code"],
            ["price_lists.code"],
            name=op.f("fk_price_list_entries_list_code_price_lists"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_code"], ["skus.code"], name=op.f("fk_price_list_entries_sku_code_skus")
        ),
        sa.PrimaryKeyConstraint("list_code", "sku_code", name=op.f("pk_price_list_entries")),
    )
    with op.batch_alter_table("price_list_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_price_list_entries_sku_code"), ["sku_code"], unique=False
        )
    op.bulk_insert(tax_classes, [{"code": c, "name": n} for c, n in TAX_CLASSES])
    op.bulk_insert(
        tax_rates,
        [
            {"country": c, "tax_class": k, "name": n, "rate": r, "valid_from": f, "valid_to": None}
            for c, k, n, r, f in TAX_RATES
        ],
    )
    op.execute(
        "INSERT INTO price_lists (code, name, currency, priority, channel_code, active,"
        " created_at, updated_at)"
        " SELECT 'CHANNEL:' || p.channel_code, p.channel_code || ' prices', 'GBP', 0,"
        " p.channel_code, TRUE, MIN(p.updated_at), MAX(p.updated_at)"
        " FROM prices p GROUP BY p.channel_code"
    )
    op.execute(
        "INSERT INTO price_list_entries (list_code, sku_code, price, updated_at)"
        " SELECT 'CHANNEL:' || channel_code, sku_code, price, updated_at FROM prices"
    )
    op.drop_table("prices")
    op.add_column("order_lines", sa.Column("net_amount", sa.Numeric(14, 3), nullable=True))
    op.add_column("order_lines", sa.Column("tax_amount", sa.Numeric(14, 3), nullable=True))
    op.add_column("order_lines", sa.Column("pricing", JSONType, nullable=True))


def downgrade() -> None:
    for column in ("pricing", "tax_amount", "net_amount"):
        op.execute(f"ALTER TABLE order_lines DROP COLUMN {column}")
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
    op.execute(
        "INSERT INTO prices (sku_code, channel_code, price, updated_at)"
        " SELECT e.sku_code, l.channel_code, e.price, e.updated_at"
        " FROM price_list_entries e JOIN price_lists l ON l.code = e.list_code"
        " WHERE l.code = 'CHANNEL:' || l.channel_code"
    )
    op.drop_table("price_list_entries")
    op.drop_table("price_lists")
    op.drop_table("product_tax_classes")
    op.drop_table("tax_rates")
    op.drop_table("tax_classes")
    # In place (SQLite 3.35+ drops a plain column without copying the table, which other
    # tables' rows refer to).
    for column in ("prices_include_tax", "country", "currency"):
        op.execute(f"ALTER TABLE channels DROP COLUMN {column}")
