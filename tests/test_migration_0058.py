"""Migration 0058 scrubs the bearer tokens from the audit log's subjects written before the
log kept only their digests' start; other subjects stay as they were."""

from __future__ import annotations

import hashlib

from sqlalchemy import text

from omniretail.db import migrate
from omniretail.kernel.keys import Keyring
from tests.conftest import TEST_SECRET_KEY
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0057_goodwill_per_customer"
CART, CHAT = "crt_W3xY9kept-in-clear-0123", "cht-Qm7_kept-in-clear-4567"
SUBJECTS = [
    f"/api/v1/carts/{CART}/checkout",
    f"/store/till/{CART}/pay",
    f"/api/v1/support/chats/{CHAT}/messages",
    "/store/till/receipts/OR-1001",
    "/api/v1/customers/42",
    None,
]


def _short(token: str) -> str:
    return "~" + hashlib.sha256(token.encode()).hexdigest()[:16]


def test_upgrade_scrubs_tokens_from_the_audit_log(empty_engine):  # noqa: F811
    ring = Keyring.parse(TEST_SECRET_KEY)
    migrate.upgrade(empty_engine, BEFORE, keyring=ring)
    with empty_engine.begin() as conn:
        for n, subject in enumerate(SUBJECTS, start=1):
            conn.execute(
                text(
                    "INSERT INTO audit_log (id, occurred_at, actor, role, action, area, subject,"
                    " detail) VALUES (:id, CURRENT_TIMESTAMP, 'admin', 'admin', 'POST /x', 'x',"
                    " :subject, '{}')"
                ),
                {"id": n, "subject": subject},
            )

    migrate.upgrade(empty_engine, "0058_audit_no_tokens", keyring=ring)
    with empty_engine.connect() as conn:
        after = conn.execute(text("SELECT subject FROM audit_log ORDER BY id")).scalars().all()
    assert after == [
        f"/api/v1/carts/{_short(CART)}/checkout",
        f"/store/till/{_short(CART)}/pay",
        f"/api/v1/support/chats/{_short(CHAT)}/messages",
        "/store/till/receipts/OR-1001",
        "/api/v1/customers/42",
        None,
    ]
