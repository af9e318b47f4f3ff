"""Migration 0059 seals the payment provider's tokens kept in clear in ``orders.payment_token``
before it (``orders.payment_token_enc``, vault ciphertext), which the app opens to authorise
an exchange's difference again; the downgrade gives them back in clear."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from omniretail.db import migrate
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault
from omniretail.orders import repository as orders_repo
from omniretail.orders import service as orders
from tests.conftest import TEST_SECRET_KEY
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0058_audit_no_tokens"
TOKEN = "tok_visa_kept_in_clear_before"
# Order 2 is imported history (no token); more orders than the migration reads at a time.
ORDERS = 1003


def _token(order_id: int) -> str | None:
    return None if order_id == 2 else TOKEN if order_id == 1 else f"tok_other_{order_id}"


def _rows(conn) -> None:
    conn.execute(
        text(
            "INSERT INTO channels (code, name, kind, reservation_ttl_seconds, atp_buffer)"
            " VALUES ('WEB', 'Web', 'web', 900, 0)"
        )
    )
    conn.execute(
        text(
            "INSERT INTO orders (id, number, kind, status, channel_code, currency, total,"
            " placed_at, payment_provider, payment_token) VALUES (:id, :number, 'sale',"
            " 'confirmed', 'WEB', 'GBP', 10, CURRENT_TIMESTAMP, 'test', :token)"
        ),
        [{"id": i, "number": f"OR-{i}", "token": _token(i)} for i in range(1, ORDERS + 1)],
    )
    # A line of the order: the table is altered in place, never rebuilt under it.
    conn.execute(
        text(
            "INSERT INTO order_lines (id, order_id, line_no, sku_code, quantity, unit_price,"
            " quantity_returned, charge_code) VALUES (1, 1, 1, NULL, 1, 5, 0, 'FEE')"
        )
    )


def _dump(conn) -> str:
    return " ".join(str(v) for row in conn.execute(text("SELECT * FROM orders")) for v in row)


def test_upgrade_seals_the_payment_tokens_and_downgrade_opens_them(empty_engine):  # noqa: F811
    ring = Keyring.parse(TEST_SECRET_KEY)
    migrate.upgrade(empty_engine, BEFORE, keyring=ring)
    with empty_engine.begin() as conn:
        _rows(conn)

    migrate.upgrade(empty_engine, "0059_payment_tokens_sealed", keyring=ring)
    vault = PiiVault(ring)
    with empty_engine.connect() as conn:
        assert "tok_" not in _dump(conn)
        sealed = dict(
            conn.execute(text("SELECT id, payment_token_enc FROM orders ORDER BY id")).all()
        )
        columns = {c["name"] for c in inspect(conn).get_columns("orders")}
        lines = conn.execute(text("SELECT order_id FROM order_lines")).scalars().all()
    assert "payment_token" not in columns and "payment_token_enc" in columns
    assert lines == [1]
    assert len(sealed) == ORDERS and sealed[2] is None
    assert {i: vault.decrypt("order_payment_token", value) for i, value in sealed.items()} == {
        i: _token(i) for i in range(1, ORDERS + 1)
    }

    # The app opens it as an exchange does, from the order's row (the app reads the schema
    # as the migrations after this one leave it).
    migrate.upgrade(empty_engine, "head", keyring=ring)
    with Session(empty_engine) as session:
        order = orders_repo.get_order_by_number(session, "OR-1")
        assert order is not None and orders.payment_token(vault, order) == TOKEN
        imported = orders_repo.get_order_by_number(session, "OR-2")
        assert imported is not None and orders.payment_token(vault, imported) is None

    config = migrate.alembic_config(empty_engine)
    config.attributes["keyring"] = ring
    command.downgrade(config, BEFORE)
    with empty_engine.connect() as conn:
        opened = dict(conn.execute(text("SELECT id, payment_token FROM orders ORDER BY id")).all())
        columns = {c["name"] for c in inspect(conn).get_columns("orders")}
        lines = conn.execute(text("SELECT order_id FROM order_lines")).scalars().all()
    assert opened == {i: _token(i) for i in range(1, ORDERS + 1)}
    assert "payment_token_enc" not in columns
    assert lines == [1]
