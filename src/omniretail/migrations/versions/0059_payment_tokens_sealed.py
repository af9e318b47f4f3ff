"""orders: the payment provider's token given at checkout at rest only as vault ciphertext

``orders.payment_token`` kept the provider's token (``tok_...``, not card data, but what an
exchange's difference is authorised with) in clear. Each token is sealed here into the new
``orders.payment_token_enc`` with the key ring the migration is run with (as 0051 and 0056),
and the clear column is dropped.

Plain ALTER TABLE on both databases (SQLite 3.35+ drops a column in place; the clear column
has no constraint nor index): a batch rebuild of ``orders`` would drop a table others refer
to. The downgrade opens the ciphertext back into the clear column.

Revision ID: 0059_payment_tokens_sealed
Revises: 0058_audit_no_tokens
Create Date: 2026-12-07 10:10:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from omniretail.migrations.keys import migration_vault

revision: str = "0059_payment_tokens_sealed"
down_revision: str | None = "0058_audit_no_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYMENT_TOKEN_FIELD = "order_payment_token"  # a frozen copy of orders.contact's
BATCH = 1000  # rows a statement


def upgrade() -> None:
    op.add_column("orders", sa.Column("payment_token_enc", sa.Text(), nullable=True))
    _copy("payment_token", "payment_token_enc", seal=True)
    op.drop_column("orders", "payment_token")


def downgrade() -> None:
    op.add_column("orders", sa.Column("payment_token", sa.String(length=120), nullable=True))
    _copy("payment_token_enc", "payment_token", seal=False)
    op.drop_column("orders", "payment_token_enc")


def _orders() -> Any:
    return sa.table(
        "orders",
        sa.column("id", sa.BigInteger),
        sa.column("payment_token", sa.String),
        sa.column("payment_token_enc", sa.Text),
    )


def _copy(source: str, target: str, *, seal: bool) -> None:
    """Each token set in ``source`` into ``target``, sealed or opened, a thousand orders a
    statement (read a thousand at a time, in order of id)."""
    bind = op.get_bind()
    orders = _orders()
    column = orders.c[source]
    first = sa.select(orders.c.id, column).where(column.is_not(None)).order_by(orders.c.id)
    write = (
        sa.update(orders)
        .where(orders.c.id == sa.bindparam("row_id"))
        .values({target: sa.bindparam("moved")})
    )
    vault = None
    read = first.limit(BATCH)
    while rows := bind.execute(read).all():
        if vault is None:  # no key is needed (nor loaded) where no order has a token
            vault = migration_vault()
        move = vault.encrypt if seal else vault.decrypt
        bind.execute(write, [{"row_id": k, "moved": move(PAYMENT_TOKEN_FIELD, v)} for k, v in rows])
        read = first.where(orders.c.id > rows[-1][0]).limit(BATCH)
