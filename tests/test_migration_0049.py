"""Migration 0049 points stock holds, ledger rows and cart lines at their stock row ((sku_code,
location_code) to stock_levels) instead of at the SKU and the location apart: a pair written
before without a stock row gets one with zero counters, a hold or a movement with no stock row
is refused after, the ledger stays append-only (SQLite rebuilds the table), and the downgrade
puts the two keys back."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from omniretail.db import migrate
from omniretail.db.migrate import alembic_config
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0048_auth_notify"
AFTER = "0049_holds_on_stock_rows"
AT = "2026-01-01 00:00:00"
TABLES = ("stock_holds", "stock_movements", "cart_lines")


def _network(conn) -> None:
    conn.execute(
        text(
            "INSERT INTO locations (code, name, kind, latitude, longitude, address, timezone,"
            " opening_hours, ships_to_home, pickup, ship_to_store_target, accepts_returns,"
            " curbside, daily_capacity, active) VALUES"
            " ('A', 'A', 'store', 0, 0, '', 'UTC', '{}', false, false, false, false, false, 0,"
            " true), ('B', 'B', 'store', 0, 0, '', 'UTC', '{}', false, false, false, false,"
            " false, 0, true)"
        )
    )
    conn.execute(
        text(
            "INSERT INTO products (code, name, attributes, created_at) VALUES ('P', 'P', '{}', :at)"
        ),
        {"at": AT},
    )
    conn.execute(
        text(
            "INSERT INTO skus (code, product_code, name, attributes, active, created_at)"
            " VALUES ('S', 'P', 'S', '{}', true, :at), ('T', 'P', 'T', '{}', true, :at)"
        ),
        {"at": AT},
    )
    conn.execute(
        text(
            "INSERT INTO channels (code, name, kind, reservation_ttl_seconds, atp_buffer)"
            " VALUES ('WEB', 'Web', 'web', 900, 0)"
        )
    )
    conn.execute(
        text(
            "INSERT INTO stock_levels (sku_code, location_code, on_hand, reserved, allocated,"
            " in_transit, safety_stock, updated_at) VALUES ('S', 'A', 5, 1, 0, 0, 0, :at)"
        ),
        {"at": AT},
    )


def _hold(conn, hold_id: str, sku: str, location: str) -> None:
    conn.execute(
        text(
            "INSERT INTO stock_holds (id, kind, status, sku_code, location_code, channel_code,"
            " quantity, expires_at, created_at, updated_at)"
            " VALUES (:id, 'cart', 'active', :sku, :location, 'WEB', 1, :at, :at, :at)"
        ),
        {"id": hold_id, "sku": sku, "location": location, "at": AT},
    )


def _movement(conn, sku: str, location: str) -> None:
    conn.execute(
        text(
            "INSERT INTO stock_movements (sku_code, location_code, kind, on_hand_delta,"
            " reserved_delta, allocated_delta, in_transit_delta, actor, created_at)"
            " VALUES (:sku, :location, 'receipt', 1, 0, 0, 0, 'x', :at)"
        ),
        {"sku": sku, "location": location, "at": AT},
    )


def _keys(engine, table: str) -> set[tuple[str, tuple[str, ...]]]:
    return {
        (fk["referred_table"], tuple(fk["constrained_columns"]))
        for fk in inspect(engine).get_foreign_keys(table)
    }


def test_holds_and_movements_need_their_stock_row_and_it_comes_back(empty_engine):  # noqa: F811
    migrate.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as conn:
        _network(conn)
        _hold(conn, "h-1", "S", "A")
        _movement(conn, "S", "A")
        _movement(conn, "T", "B")  # no stock row (the old keys allowed it)

    command.upgrade(alembic_config(empty_engine), AFTER)
    with empty_engine.connect() as conn:
        levels = conn.execute(
            text(
                "SELECT sku_code, location_code, on_hand, reserved FROM stock_levels"
                " ORDER BY sku_code"
            )
        ).all()
    assert [tuple(r) for r in levels] == [("S", "A", 5, 1), ("T", "B", 0, 0)]
    for table in TABLES:
        assert _keys(empty_engine, table) >= {("stock_levels", ("sku_code", "location_code"))}
        assert not {t for t, _ in _keys(empty_engine, table)} & {"skus", "locations"}
    for write in (
        lambda c: _hold(c, "h-2", "S", "B"),
        lambda c: _movement(c, "T", "A"),
        lambda c: _movement(c, "nope", "A"),
    ):
        with pytest.raises(IntegrityError), empty_engine.begin() as conn:
            write(conn)
    with empty_engine.begin() as conn:
        _hold(conn, "h-3", "T", "B")
        _movement(conn, "S", "A")
    with pytest.raises(DBAPIError, match="append-only"), empty_engine.begin() as conn:
        conn.execute(text("UPDATE stock_movements SET on_hand_delta = 5"))

    command.downgrade(alembic_config(empty_engine), BEFORE)
    for table in TABLES:
        keys = _keys(empty_engine, table)
        assert {("skus", ("sku_code",)), ("locations", ("location_code",))} <= keys
        assert "stock_levels" not in {t for t, _ in keys}
    with pytest.raises(DBAPIError, match="append-only"), empty_engine.begin() as conn:
        conn.execute(text("DELETE FROM stock_movements"))
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        _movement(conn, "nope", "A")
