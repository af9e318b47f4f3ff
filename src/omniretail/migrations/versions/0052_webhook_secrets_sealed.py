"""webhook_subscriptions: the signing secret at rest only as vault ciphertext

A subscription's secret signs every delivery (whoever holds it can forge one); it was kept in
clear in ``webhook_subscriptions.secret``. Existing secrets are encrypted here with the key
ring the migration is run with (as 0013); the downgrade decrypts them.

Revision ID: 0052_webhook_secrets_sealed
Revises: 0051_pickup_codes_sealed
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from omniretail.migrations.keys import migration_vault

revision: str = "0052_webhook_secrets_sealed"
down_revision: str | None = "0051_pickup_codes_sealed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECRET_FIELD = "webhook_secret"  # a frozen copy of notifications.models.SECRET_FIELD


def _subscriptions() -> Any:
    return sa.table(
        "webhook_subscriptions",
        sa.column("id", sa.BigInteger),
        sa.column("secret", sa.String),
        sa.column("secret_enc", sa.Text),
    )


def _copy(source: str, target: str, *, seal: bool) -> None:
    bind = op.get_bind()
    table = _subscriptions()
    rows = bind.execute(sa.select(table.c.id, table.c[source])).all()
    if not rows:
        return
    vault = migration_vault()
    for row in rows:
        value = row[1]
        moved = vault.encrypt(SECRET_FIELD, value) if seal else vault.decrypt(SECRET_FIELD, value)
        bind.execute(sa.update(table).where(table.c.id == row.id).values({target: moved}))


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret_enc", sa.Text(), nullable=True))
    _copy("secret", "secret_enc", seal=True)
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.alter_column("secret_enc", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("secret")


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret", sa.String(length=200), nullable=True))
    _copy("secret_enc", "secret", seal=False)
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_column("secret_enc")
