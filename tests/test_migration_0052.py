"""Migration 0052 seals the webhook signing secrets kept in clear before it; the downgrade
gives them back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from omniretail.db import migrate
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault
from tests.conftest import TEST_SECRET_KEY
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0051_pickup_codes_sealed"
SECRET = "whsec_kept_in_clear_before_0123456789"


def test_upgrade_seals_the_secrets_and_downgrade_opens_them(empty_engine):  # noqa: F811
    ring = Keyring.parse(TEST_SECRET_KEY)
    migrate.upgrade(empty_engine, BEFORE, keyring=ring)
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO webhook_subscriptions (url, event_types, secret, active, created_at)"
                " VALUES ('https://93.184.215.14/hooks', '[\"*\"]', :secret, true,"
                " CURRENT_TIMESTAMP)"
            ),
            {"secret": SECRET},
        )

    migrate.upgrade(empty_engine, "0052_webhook_secrets_sealed", keyring=ring)
    with empty_engine.connect() as conn:
        sealed = conn.execute(text("SELECT secret_enc FROM webhook_subscriptions")).scalar_one()
    assert SECRET not in sealed
    assert PiiVault(ring).decrypt("webhook_secret", sealed) == SECRET

    config = migrate.alembic_config(empty_engine)
    config.attributes["keyring"] = ring
    command.downgrade(config, BEFORE)
    with empty_engine.connect() as conn:
        opened = conn.execute(text("SELECT secret FROM webhook_subscriptions")).scalar_one()
    assert opened == SECRET
