"""Migration 0013 encrypts the personal data written in clear before it (orders' contact
email and delivery address, notifications) and scrubs it from order events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from omniretail.db import migrate
from omniretail.db.engine import make_engine
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault
from tests.conftest import TEST_SECRET_KEY, _pg_url

EMAIL, STREET = "old.order@example.org", "7 Legacy Row"
BEFORE = "0010_drop_order_lines_index"


@pytest.fixture
def empty_engine(backend: str, request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}", pool_size=2)
        yield engine
        engine.dispose()
        return
    request.getfixturevalue("pg_schema")  # skips (or fails) like the others without a server
    url, schema = _pg_url(), f"m_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, schema=schema, pool_size=2)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_upgrade_encrypts_what_was_in_clear(empty_engine):
    migrate.upgrade(empty_engine, BEFORE)
    delivery = {
        "method": "ship_to_home",
        "pickup_location": None,
        "latitude": 51.5,
        "longitude": -0.1,
        "address": {"name": "Old Customer", "line1": STREET},
    }
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO channels (code, name, kind, reservation_ttl_seconds, atp_buffer)"
                " VALUES ('WEB', 'Web', 'web', 900, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO orders (number, kind, status, channel_code, currency, total,"
                " placed_at, contact_email, delivery) VALUES ('OLD-1', 'sale', 'confirmed',"
                " 'WEB', 'GBP', 10, CURRENT_TIMESTAMP, :email, :delivery)"
            ),
            {"email": EMAIL, "delivery": json.dumps(delivery)},
        )
        conn.execute(
            text(
                "INSERT INTO notifications (channel, kind, recipient, subject, body, status,"
                " created_at, source_event_id) VALUES ('email', 'shipped', :email,"
                " 'Order OLD-1', :body, 'sent', CURRENT_TIMESTAMP, 'e-1')"
            ),
            {"email": EMAIL, "body": f"Hello Old Customer, {STREET}"},
        )
        conn.execute(
            text(
                "INSERT INTO outbox (id, type, source, subject, time, data, attempts)"
                " VALUES ('e-1', 'omniretail.orders.order_confirmed', 'urn:t', 'orders/OLD-1',"
                " CURRENT_TIMESTAMP, :data, 0)"
            ),
            {"data": json.dumps({"order": "OLD-1", "contact_email": EMAIL, "total": "10"})},
        )

    ring = Keyring.parse(TEST_SECRET_KEY)
    migrate.upgrade(empty_engine, "head", keyring=ring)

    vault = PiiVault(ring)
    with empty_engine.connect() as conn:
        order = conn.execute(
            text("SELECT contact_email_enc, delivery_enc, delivery FROM orders")
        ).one()
        note = conn.execute(text("SELECT recipient, body FROM notifications")).one()
        data = conn.execute(text("SELECT data FROM outbox")).scalar_one()
    assert vault.decrypt("order_contact_email", order.contact_email_enc) == EMAIL
    personal = json.loads(vault.decrypt("order_delivery", order.delivery_enc) or "{}")
    assert (personal["address"]["line1"], personal["latitude"]) == (STREET, 51.5)
    public = order.delivery if isinstance(order.delivery, dict) else json.loads(order.delivery)
    assert public == {"method": "ship_to_home", "pickup_location": None}
    assert vault.decrypt("notification_recipient", note.recipient) == EMAIL
    assert STREET in (vault.decrypt("notification_body", note.body) or "")
    assert (data if isinstance(data, dict) else json.loads(data)) == {
        "order": "OLD-1",
        "total": "10",
    }
