"""Migration 0051 seals the pickup codes issued before it and takes them out of the pickup
events already in the outbox; the downgrade gives them back in clear."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import text

from omniretail.db import migrate
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault
from tests.conftest import TEST_SECRET_KEY
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0050_ledger_kind_index"
CODE = "402517"


def _rows(conn) -> None:
    conn.execute(
        text(
            "INSERT INTO channels (code, name, kind, reservation_ttl_seconds, atp_buffer)"
            " VALUES ('WEB', 'Web', 'web', 900, 0)"
        )
    )
    conn.execute(
        text(
            "INSERT INTO locations (code, name, kind, latitude, longitude, address, timezone,"
            " opening_hours, ships_to_home, pickup, ship_to_store_target, accepts_returns,"
            " daily_capacity, active, curbside) VALUES ('LON1', 'London', 'store', 51.5, -0.1,"
            " '', 'Europe/London', '{}', false, true, true, true, 100, true, false)"
        )
    )
    conn.execute(
        text(
            "INSERT INTO orders (id, number, kind, status, channel_code, currency, total,"
            " placed_at) VALUES (1, 'OLD-1', 'sale', 'confirmed', 'WEB', 'GBP', 10,"
            " CURRENT_TIMESTAMP)"
        )
    )
    for fid, code in (("f-1", CODE), ("f-2", None)):
        conn.execute(
            text(
                "INSERT INTO fulfilments (id, order_id, method, status, location_code,"
                " promised_date, pickup_code, reminders_sent, created_at, updated_at)"
                " VALUES (:id, 1, 'pickup_in_store', 'ready_for_pickup', 'LON1', '2026-12-01',"
                " :code, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"id": fid, "code": code},
        )
    # A line served by the fulfilment: the table is altered in place, never rebuilt under it.
    conn.execute(
        text(
            "INSERT INTO order_lines (id, order_id, line_no, sku_code, quantity, unit_price,"
            " quantity_returned, fulfilment_id, charge_code) VALUES (1, 1, 1, NULL, 1, 5, 0, 'f-1',"
            " 'FEE')"
        )
    )
    for n, kind in enumerate(("ready_for_pickup", "pickup_reminder", "collected")):
        data = {"order": "OLD-1", "fulfilment_id": "f-1", "pickup_code": CODE}
        conn.execute(
            text(
                "INSERT INTO outbox (id, type, source, subject, time, data, attempts)"
                " VALUES (:id, :type, 'urn:t', 'orders/OLD-1', CURRENT_TIMESTAMP, :data, 0)"
            ),
            {"id": f"e-{n}", "type": f"omniretail.orders.{kind}", "data": json.dumps(data)},
        )


def _data(value):
    return value if isinstance(value, dict) else json.loads(value)


def test_upgrade_seals_the_codes_and_scrubs_the_events_and_downgrade_opens_them(empty_engine):  # noqa: F811
    migrate.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as conn:
        _rows(conn)

    ring = Keyring.parse(TEST_SECRET_KEY)
    migrate.upgrade(empty_engine, "0051_pickup_codes_sealed", keyring=ring)
    vault = PiiVault(ring)
    with empty_engine.connect() as conn:
        sealed = dict(conn.execute(text("SELECT id, pickup_code_enc FROM fulfilments")).all())
        events = dict(conn.execute(text("SELECT type, data FROM outbox")).all())
    assert sealed["f-2"] is None and CODE not in sealed["f-1"]
    assert vault.decrypt("fulfilment_pickup_code", sealed["f-1"]) == CODE
    for kind in ("ready_for_pickup", "pickup_reminder"):
        assert _data(events[f"omniretail.orders.{kind}"]) == {
            "order": "OLD-1",
            "fulfilment_id": "f-1",
        }
    # Only the two pickup events carried it: another event is left as it was.
    assert _data(events["omniretail.orders.collected"])["pickup_code"] == CODE

    config = migrate.alembic_config(empty_engine)
    config.attributes["keyring"] = ring
    command.downgrade(config, BEFORE)
    with empty_engine.connect() as conn:
        opened = dict(conn.execute(text("SELECT id, pickup_code FROM fulfilments")).all())
    assert opened == {"f-1": CODE, "f-2": None}
