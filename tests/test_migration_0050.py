"""Migration 0050 indexes the loyalty ledger by (kind, effective_at), the columns the
programme overview's "earned and redeemed in the last 30 days" filter on, and the lots by
(status, expires_at), its "expiring in 30 days", on an existing ledger; the downgrade drops
both and keeps the entries."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from omniretail.db import migrate
from omniretail.db.migrate import alembic_config
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0049_holds_on_stock_rows"
AFTER = "0050_ledger_kind_index"
AT = "2026-01-01 00:00:00"
INDEX = "ix_loyalty_entries_kind_effective"
LOTS_INDEX = "ix_loyalty_lots_status_expires"


def _indexes(engine, table: str = "loyalty_entries") -> dict[str, list[str | None]]:
    return {
        ix["name"]: list(ix["column_names"])
        for ix in inspect(engine).get_indexes(table)
        if ix["name"]
    }


def _entries(engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, points FROM loyalty_entries ORDER BY id")).all()
    return [(str(r[0]), int(r[1])) for r in rows]


def test_the_ledger_gets_its_kind_and_date_index_and_loses_it_going_back(empty_engine):  # noqa: F811
    migrate.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO customers (id, created_at, status) VALUES (1, :at, 'active')"),
            {"at": AT},
        )
        conn.execute(
            text(
                "INSERT INTO loyalty_accounts (customer_id, available, pending, owed, tier,"
                " tier_changed_at, enrolled_at, updated_at)"
                " VALUES (1, 50, 0, 0, 'Bronze', :at, :at, :at)"
            ),
            {"at": AT},
        )
        for n, (kind, points) in enumerate([("reward", 80), ("redeem", -30)]):
            conn.execute(
                text(
                    "INSERT INTO loyalty_entries (customer_id, kind, points, pending_delta,"
                    " owed_delta, spend, source_key, actor, created_at, effective_at, data)"
                    " VALUES (1, :kind, :points, 0, 0, 0, :key, 't', :at, :at, '{}')"
                ),
                {"kind": kind, "points": points, "key": f"k{n}", "at": AT},
            )
    assert INDEX not in _indexes(empty_engine)
    entries = _entries(empty_engine)

    assert LOTS_INDEX not in _indexes(empty_engine, "loyalty_lots")
    command.upgrade(alembic_config(empty_engine), AFTER)
    assert _indexes(empty_engine)[INDEX] == ["kind", "effective_at"]
    assert _indexes(empty_engine, "loyalty_lots")[LOTS_INDEX] == ["status", "expires_at"]
    assert _entries(empty_engine) == entries

    command.downgrade(alembic_config(empty_engine), BEFORE)
    assert INDEX not in _indexes(empty_engine)
    assert LOTS_INDEX not in _indexes(empty_engine, "loyalty_lots")
    assert _entries(empty_engine) == entries == [("reward", 80), ("redeem", -30)]
