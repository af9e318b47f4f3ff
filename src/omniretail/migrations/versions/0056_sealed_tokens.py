"""orders' tracking tokens and carts' tokens at rest only as a digest and vault ciphertext

Two bearer secrets were kept in clear and looked up by value: ``orders.tracking_token`` (the
tracking link, whose page shows the pickup code while the order waits) and ``carts.token``
(every ``/carts/{token}`` call). Each clear column becomes its SHA-256 digest, the look-up
key (``kernel.ids.token_digest``), and the token is kept as vault ciphertext in a new column
(``orders.tracking_token_enc``, ``carts.token_enc``), sealed here with the key ring the
migration is run with (as 0051): the server builds tracking links again for the order's
owner, and answers a customer's cart (its token) on every device.

The clear column is hashed in place and renamed, so its unique constraint (which keeps its
name, ``uq_orders_tracking_token`` and ``uq_carts_token``) becomes the digest's: SQLite drops
no column that has a UNIQUE constraint, and a batch rebuild of ``orders`` or ``carts`` would
drop a table others refer to. The downgrade opens the ciphertext back into the clear column.

Revision ID: 0056_sealed_tokens
Revises: 0055_events_no_tracking_tokens
Create Date: 2026-12-07 09:00:00
"""

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from omniretail.migrations.keys import migration_vault

revision: str = "0056_sealed_tokens"
down_revision: str | None = "0055_events_no_tracking_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of orders.contact.TRACKING_TOKEN_FIELD and carts.tokens.TOKEN_FIELD:
# (table, its key's type, the clear column, the digest column, the ciphertext column, field).
SEALED = (
    ("orders", sa.BigInteger, "tracking_token", "tracking_token_digest", "tracking_token_enc",
     "order_tracking_token"),
    ("carts", sa.String, "token", "token_digest", "token_enc", "cart_token"),
)  # fmt: skip
BATCH = 1000  # rows a statement


def _digest(token: str) -> str:
    """A frozen copy of ``kernel.ids.token_digest``."""
    return hashlib.sha256(token.encode()).hexdigest()


def upgrade() -> None:
    for table, key, clear, digest, enc, field in SEALED:
        op.add_column(table, sa.Column(enc, sa.Text(), nullable=True))
        rows_of = _table(table, key, clear, enc)
        rows = _rows(rows_of, clear)
        if rows:
            vault = migration_vault()
            _write(
                rows_of,
                clear,
                enc,
                [(k, _digest(token), vault.encrypt(field, token)) for k, token in rows],
            )
        op.alter_column(table, clear, new_column_name=digest, existing_type=sa.String(64))


def downgrade() -> None:
    for table, key, clear, digest, enc, field in SEALED:
        rows_of = _table(table, key, digest, enc)
        rows = _rows(rows_of, enc)
        if rows:
            vault = migration_vault()
            _write(
                rows_of,
                digest,
                enc,
                [(k, vault.decrypt(field, sealed), sealed) for k, sealed in rows],
            )
        op.alter_column(table, digest, new_column_name=clear, existing_type=sa.String(64))
        op.drop_column(table, enc)


def _table(table: str, key: type[Any], short: str, enc: str) -> Any:
    return sa.table(table, sa.column("id", key()), sa.column(short), sa.column(enc))


def _rows(rows_of: Any, source: str) -> list[Any]:
    """(key, value) of each row whose ``source`` is set."""
    column = rows_of.c[source]
    query = sa.select(rows_of.c.id, column).where(column.is_not(None))
    return list(op.get_bind().execute(query).all())


def _write(rows_of: Any, short: str, enc: str, values: list[tuple[Any, Any, Any]]) -> None:
    """Sets the 64-character column ``short`` (the digest, or the token in clear again) and
    the ciphertext column ``enc`` of each (key, short, enc), a thousand rows a statement."""
    write = (
        sa.update(rows_of)
        .where(rows_of.c.id == sa.bindparam("row_id"))
        .values({short: sa.bindparam("v_short"), enc: sa.bindparam("v_enc")})
    )
    for start in range(0, len(values), BATCH):
        params = [
            {"row_id": k, "v_short": a, "v_enc": b} for k, a, b in values[start : start + BATCH]
        ]
        op.get_bind().execute(write, params)
