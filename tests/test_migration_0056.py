"""Migration 0056 turns the clear tracking and cart tokens into their digests (the look-up
keys, still unique) and vault ciphertext; the app finds the order and the cart by the token
afterwards, and the downgrade gives the tokens back in clear."""

from __future__ import annotations

import hashlib

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from omniretail.carts import repository as carts_repo
from omniretail.db import migrate
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault
from omniretail.orders import repository as orders_repo
from tests.conftest import TEST_SECRET_KEY
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0055_events_no_tracking_tokens"
TRACKING, CART = "trk_Zq8vB1-kept-in-clear-before", "crt_W3xY9-kept-in-clear-before"


def _rows(conn) -> None:
    conn.execute(
        text(
            "INSERT INTO channels (code, name, kind, reservation_ttl_seconds, atp_buffer)"
            " VALUES ('WEB', 'Web', 'web', 900, 0)"
        )
    )
    for order_id, token in ((1, TRACKING), (2, None)):  # 2: imported history, no link
        conn.execute(
            text(
                "INSERT INTO orders (id, number, kind, status, channel_code, currency, total,"
                " placed_at, tracking_token) VALUES (:id, :number, 'sale', 'confirmed', 'WEB',"
                " 'GBP', 10, CURRENT_TIMESTAMP, :token)"
            ),
            {"id": order_id, "number": f"OR-{order_id}", "token": token},
        )
    for cart_id, token in (("c-1", CART), ("c-2", "another-cart")):
        conn.execute(
            text(
                "INSERT INTO carts (id, token, status, channel_code, version, created_at,"
                " updated_at) VALUES (:id, :token, 'active', 'WEB', 1, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            ),
            {"id": cart_id, "token": token},
        )
    # A line of the order: the tables are altered in place, never rebuilt under it.
    conn.execute(
        text(
            "INSERT INTO order_lines (id, order_id, line_no, sku_code, quantity, unit_price,"
            " quantity_returned, charge_code) VALUES (1, 1, 1, NULL, 1, 5, 0, 'FEE')"
        )
    )


def _dump(conn, table: str) -> str:
    return " ".join(str(v) for row in conn.execute(text(f"SELECT * FROM {table}")) for v in row)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_upgrade_seals_the_tokens_finds_them_and_downgrade_opens_them(empty_engine):  # noqa: F811
    ring = Keyring.parse(TEST_SECRET_KEY)
    migrate.upgrade(empty_engine, BEFORE, keyring=ring)
    with empty_engine.begin() as conn:
        _rows(conn)

    migrate.upgrade(empty_engine, "0056_sealed_tokens", keyring=ring)
    vault = PiiVault(ring)
    with empty_engine.connect() as conn:
        assert TRACKING not in _dump(conn, "orders") and CART not in _dump(conn, "carts")
        orders = conn.execute(
            text("SELECT id, tracking_token_digest, tracking_token_enc FROM orders ORDER BY id")
        ).all()
        carts = dict(conn.execute(text("SELECT id, token_digest FROM carts")).all())
        sealed_cart = conn.execute(text("SELECT token_enc FROM carts WHERE id = 'c-1'")).scalar()
        columns = {c["name"] for c in inspect(conn).get_columns("orders")}
    assert "tracking_token" not in columns
    assert [tuple(o) for o in orders] == [
        (1, _sha(TRACKING), orders[0].tracking_token_enc),
        (2, None, None),
    ]
    assert vault.decrypt("order_tracking_token", orders[0].tracking_token_enc) == TRACKING
    assert carts == {"c-1": _sha(CART), "c-2": _sha("another-cart")}
    assert vault.decrypt("cart_token", sealed_cart) == CART

    # The app's look-ups find both by the token the holder still has (the app reads the
    # schema as the migrations after this one leave it).
    migrate.upgrade(empty_engine, "head", keyring=ring)
    with Session(empty_engine) as session:
        order = orders_repo.get_order_by_token(session, TRACKING)
        assert order is not None and order.number == "OR-1"
        assert orders_repo.get_order_by_token(session, _sha(TRACKING)) is None
        assert [r.cart_id for r in carts_repo.cart_with_lines(session, CART)] == ["c-1"]
    # The digest keeps the clear column's unique constraint.
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        conn.execute(text("UPDATE carts SET token_digest = :d WHERE id = 'c-2'"), {"d": _sha(CART)})

    config = migrate.alembic_config(empty_engine)
    config.attributes["keyring"] = ring
    command.downgrade(config, BEFORE)
    with empty_engine.connect() as conn:
        opened = conn.execute(text("SELECT id, tracking_token FROM orders ORDER BY id")).all()
        carts = dict(conn.execute(text("SELECT id, token FROM carts")).all())
        columns = {c["name"] for c in inspect(conn).get_columns("carts")}
    assert [tuple(o) for o in opened] == [(1, TRACKING), (2, None)]
    assert carts == {"c-1": CART, "c-2": "another-cart"}
    assert "token_enc" not in columns
