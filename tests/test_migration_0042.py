"""Migration 0042 seals the support attachments stored in clear (``data`` -> ``data_enc``,
vault ciphertext of the bytes); its downgrade puts the clear bytes back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from omniretail.db import migrate
from omniretail.db.migrate import alembic_config
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0041_pay18_payment_attempts"
FILE = b"\x00\xffa photo of the damage\x80"
AT = "2026-01-01 00:00:00"


def test_clear_attachments_are_sealed_and_come_back(empty_engine):  # noqa: F811
    keyring = Keyring(b"migration-0042-test-secret-0123456789abcdef")
    migrate.upgrade(empty_engine, BEFORE, keyring=keyring)
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO support_teams (id, code, name, time_zone, hours,"
                " first_response_minutes, resolution_minutes, created_at, updated_at)"
                " VALUES (900, 'm42', 'M', 'UTC', '{}', 60, 60, :at, :at)"
            ),
            {"at": AT},
        )
        conn.execute(
            text(
                "INSERT INTO support_conversations (id, reference, team_id, channel, status,"
                " priority, tags, created_at, updated_at, last_message_at, reopened)"
                " VALUES (1, 'SUP-M42', 900, 'email', 'open', 'normal', '[]', :at, :at, :at, 0)"
            ),
            {"at": AT},
        )
        conn.execute(
            text(
                "INSERT INTO support_messages (id, conversation_id, direction, author, channel,"
                " body_enc, quoted_trimmed, mentions, attachments_refused, created_at)"
                " VALUES (1, 1, 'in', 'customer', 'email', 'x', false, '[]', 0, :at)"
            ),
            {"at": AT},
        )
        conn.execute(
            text(
                "INSERT INTO support_attachments (message_id, filename, content_type, size,"
                " sha256, data, created_at) VALUES (1, 'a.jpg', 'image/jpeg', 24, 'h', :data, :at)"
            ),
            {"data": FILE, "at": AT},
        )
    migrate.upgrade(empty_engine, keyring=keyring)
    with empty_engine.connect() as conn:
        (sealed,) = conn.execute(text("SELECT data_enc FROM support_attachments")).scalars()
    assert sealed.startswith("v2:") and "photo" not in sealed
    assert PiiVault(keyring).decrypt_bytes("support_attachment", sealed) == FILE

    config = alembic_config(empty_engine)
    config.attributes["keyring"] = keyring
    command.downgrade(config, BEFORE)
    with empty_engine.connect() as conn:
        (back,) = conn.execute(text("SELECT data FROM support_attachments")).scalars()
    assert bytes(back) == FILE
