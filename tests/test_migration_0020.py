"""Migration 0020 fills the keyed search indexes of the customers stored before it (from
their encrypted name and address, with the ring it runs with) and counts received
transfers' units as received."""

from __future__ import annotations

import json

from sqlalchemy import text

from omniretail.db import migrate
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault
from tests.conftest import TEST_SECRET_KEY
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0016_password_reset_codes"


def test_upgrade_indexes_names_and_postcodes_and_counts_receipts(empty_engine):  # noqa: F811
    keyring = Keyring(TEST_SECRET_KEY.encode())
    vault = PiiVault(keyring)
    migrate.upgrade(empty_engine, BEFORE, keyring=keyring)
    address = json.dumps({"line1": "1 Road", "city": "London", "postcode": "sw1a 1aa"})
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, created_at, status, name_enc, address_enc)"
                " VALUES (1, '2026-01-01', 'active', :name, :address),"
                " (2, '2026-01-01', 'active', NULL, NULL)"
            ),
            {
                "name": vault.encrypt("name", "Grace Brewster Hopper"),
                "address": vault.encrypt("address", address),
            },
        )
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
                "INSERT INTO products (code, name, attributes, created_at)"
                " VALUES ('P', 'P', '{}', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO skus (code, product_code, name, attributes, active, created_at)"
                " VALUES ('S', 'P', 'S', '{}', true, '2026-01-01')"
            )
        )
        for tid, status in (("t-done", "received"), ("t-moving", "in_transit")):
            conn.execute(
                text(
                    "INSERT INTO transfers (id, from_location, to_location, status, requested_by,"
                    " created_at) VALUES (:id, 'A', 'B', :status, 'x', '2026-01-01')"
                ),
                {"id": tid, "status": status},
            )
            conn.execute(
                text(
                    "INSERT INTO transfer_lines (transfer_id, sku_code, quantity)"
                    " VALUES (:id, 'S', 4)"
                ),
                {"id": tid},
            )
    migrate.upgrade(empty_engine, keyring=keyring)
    with empty_engine.connect() as conn:
        rows = dict(
            (r.id, (r.surname_index, r.postcode_index))
            for r in conn.execute(text("SELECT id, surname_index, postcode_index FROM customers"))
        )
        received = dict(
            conn.execute(text("SELECT transfer_id, received_quantity FROM transfer_lines")).all()
        )
    assert rows[1] == (
        vault.blind_index("surname", "hopper"),
        vault.blind_index("postcode_outward", "SW1A"),
    )
    assert rows[2] == (None, None)
    assert received == {"t-done": 4, "t-moving": 0}
