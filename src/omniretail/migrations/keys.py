"""The key ring for data migrations that encrypt or decrypt values: the one the migration is
run with (``Container.migrate`` passes it), else loaded from settings as the server does."""

from __future__ import annotations

from alembic import context

from omniretail.kernel.vault import PiiVault


def migration_vault() -> PiiVault:
    keyring = context.config.attributes.get("keyring")
    if keyring is None:
        from omniretail.db.encrypted import load_keyring
        from omniretail.settings import Settings

        keyring = load_keyring(Settings())
    return PiiVault(keyring)
