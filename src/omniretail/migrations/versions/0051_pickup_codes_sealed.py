"""fulfilments: the pickup code at rest only as vault ciphertext; pickup events carry none

A pickup code hands the goods over to whoever says it: it was kept in clear in
``fulfilments.pickup_code`` and in the ``orders.ready_for_pickup`` and
``orders.pickup_reminder`` events, so in the outbox and in every copy of it published
downstream (NATS). Existing codes are encrypted here with the key ring the migration is run
with (as 0013); the events already in the outbox lose theirs (the email handler reads the
code from the fulfilment).

Revision ID: 0051_pickup_codes_sealed
Revises: 0050_ledger_kind_index
Create Date: 2026-12-07 06:40:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from omniretail.migrations.keys import migration_vault

revision: str = "0051_pickup_codes_sealed"
down_revision: str | None = "0050_ledger_kind_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies (orders.contact.PICKUP_CODE_FIELD, the two events' full types).
PICKUP_CODE_FIELD = "fulfilment_pickup_code"
PICKUP_EVENTS = ("omniretail.orders.ready_for_pickup", "omniretail.orders.pickup_reminder")
JSON_TYPE = sa.JSON().with_variant(JSONB(), "postgresql")


# Plain ALTER TABLE on both databases (SQLite 3.35+ drops a column in place): a batch
# rebuild of ``fulfilments`` would drop the table order lines and the log refer to.


def upgrade() -> None:
    op.add_column("fulfilments", sa.Column("pickup_code_enc", sa.Text(), nullable=True))
    _copy("pickup_code", "pickup_code_enc", seal=True)
    _scrub_events()
    op.drop_column("fulfilments", "pickup_code")


def downgrade() -> None:
    op.add_column("fulfilments", sa.Column("pickup_code", sa.String(length=12), nullable=True))
    _copy("pickup_code_enc", "pickup_code", seal=False)
    op.drop_column("fulfilments", "pickup_code_enc")


def _copy(source: str, target: str, *, seal: bool) -> None:
    """Each issued code from ``source`` into ``target``, sealed or opened."""
    bind = op.get_bind()
    fulfilments = sa.table(
        "fulfilments",
        sa.column("id", sa.String),
        sa.column("pickup_code", sa.String),
        sa.column("pickup_code_enc", sa.Text),
    )
    column = fulfilments.c[source]
    rows = bind.execute(sa.select(fulfilments.c.id, column).where(column.is_not(None))).all()
    if not rows:
        return
    vault = migration_vault()
    move = vault.encrypt if seal else vault.decrypt
    for fulfilment_id, value in rows:
        bind.execute(
            sa.update(fulfilments)
            .where(fulfilments.c.id == fulfilment_id)
            .values({target: move(PICKUP_CODE_FIELD, value)})
        )


def _scrub_events() -> None:
    bind = op.get_bind()
    outbox = sa.table(
        "outbox",
        sa.column("position", sa.BigInteger),
        sa.column("type", sa.String),
        sa.column("data", JSON_TYPE),
    )
    rows = bind.execute(
        sa.select(outbox.c.position, outbox.c.data).where(outbox.c.type.in_(PICKUP_EVENTS))
    ).all()
    for row in rows:
        data = json.loads(row.data) if isinstance(row.data, str) else row.data
        if isinstance(data, dict) and "pickup_code" in data:
            scrubbed = {k: v for k, v in data.items() if k != "pickup_code"}
            bind.execute(
                sa.update(outbox).where(outbox.c.position == row.position).values(data=scrubbed)
            )
