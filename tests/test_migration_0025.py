"""Migration 0025 moves each channel's prices into its own price list (GBP, scoped to the
channel), gives existing channels GBP, GB and prices with tax, seeds the tax rates as data;
its downgrade puts the channel prices back."""

from __future__ import annotations

from decimal import Decimal

from alembic import command
from sqlalchemy import text

from omniretail.db import migrate
from omniretail.db.migrate import alembic_config
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0020_search_partial_receipt"


def test_channel_prices_become_the_channels_lists_and_come_back(empty_engine):  # noqa: F811
    migrate.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO channels (code, name, kind, reservation_ttl_seconds, atp_buffer)"
                " VALUES ('WEB', 'Web', 'web', 900, 0), ('POS', 'Tills', 'store_pos', 900, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO products (code, name, attributes, created_at)"
                " VALUES ('P', 'P', '{}', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO skus (code, product_code, name, attributes, active, created_at)"
                " VALUES ('S', 'P', 'S', '{}', true, '2026-01-01'),"
                " ('T', 'P', 'T', '{}', true, '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO prices (sku_code, channel_code, price, updated_at) VALUES"
                " ('S', 'POS', 18.50, '2026-02-01'), ('T', 'POS', 3.00, '2026-03-01')"
            )
        )
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        lists = conn.execute(
            text("SELECT code, currency, priority, channel_code, active FROM price_lists")
        ).all()
        entries = conn.execute(
            text("SELECT list_code, sku_code, price FROM price_list_entries ORDER BY sku_code")
        ).all()
        channels = conn.execute(
            text("SELECT code, currency, country, prices_include_tax FROM channels ORDER BY code")
        ).all()
        rates = conn.execute(
            text("SELECT country, tax_class, rate FROM tax_rates ORDER BY country, tax_class")
        ).all()
    assert [tuple(r) for r in lists] == [("CHANNEL:POS", "GBP", 0, "POS", True)]
    assert [(r[0], r[1], Decimal(str(r[2]))) for r in entries] == [
        ("CHANNEL:POS", "S", Decimal("18.5")),
        ("CHANNEL:POS", "T", Decimal("3")),
    ]
    assert [tuple(r) for r in channels] == [("POS", "GBP", "GB", True), ("WEB", "GBP", "GB", True)]
    assert [(c, k, Decimal(str(r))) for c, k, r in rates] == [
        ("GB", "reduced", Decimal("0.05")),
        ("GB", "standard", Decimal("0.2")),
        ("GB", "zero", Decimal("0")),
        ("JP", "reduced", Decimal("0.08")),
        ("JP", "standard", Decimal("0.1")),
    ]

    command.downgrade(alembic_config(empty_engine), BEFORE)
    with empty_engine.connect() as conn:
        back = conn.execute(
            text("SELECT sku_code, channel_code, price FROM prices ORDER BY sku_code")
        ).all()
    assert [(s, c, Decimal(str(p))) for s, c, p in back] == [
        ("S", "POS", Decimal("18.5")),
        ("T", "POS", Decimal("3")),
    ]
