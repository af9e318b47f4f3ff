"""support attachments sealed with the vault like message bodies: ``data`` (clear bytes)
becomes ``data_enc`` (vault ciphertext of the bytes, field ``support_attachment``)

Revision ID: 0042_support_wire_attachments
Revises: 0041_pay18_payment_attempts
Create Date: 2026-12-05 06:40:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from omniretail.migrations.keys import migration_vault

revision: str = "0042_support_wire_attachments"
down_revision: str | None = "0041_pay18_payment_attempts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of the vault field (support.conversations.ATTACHMENT_FIELD).
FIELD = "support_attachment"
BATCH = 200


def _convert(source: str, target: str, change: Any) -> None:
    """Rewrites every row's ``source`` into ``target`` through ``change``, in batches by id."""
    table = sa.table("support_attachments", sa.column("id"), sa.column(source), sa.column(target))
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c[source])
            .where(table.c.id > after)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            bind.execute(
                sa.update(table).where(table.c.id == row.id).values({target: change(row[1])})
            )
        after = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table("support_attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_enc", sa.Text(), nullable=True))
    vault = migration_vault()
    _convert("data", "data_enc", lambda data: vault.encrypt_bytes(FIELD, bytes(data)))
    with op.batch_alter_table("support_attachments", schema=None) as batch_op:
        batch_op.drop_column("data")
        batch_op.alter_column("data_enc", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("support_attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data", sa.LargeBinary(), nullable=True))
    vault = migration_vault()
    _convert("data_enc", "data", lambda token: vault.decrypt_bytes(FIELD, token))
    with op.batch_alter_table("support_attachments", schema=None) as batch_op:
        batch_op.drop_column("data_enc")
        batch_op.alter_column("data", existing_type=sa.LargeBinary(), nullable=False)
