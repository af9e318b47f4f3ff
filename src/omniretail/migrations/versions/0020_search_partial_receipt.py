"""customers: keyed search indexes of the surname and the postcode's outward code (filled
here from the encrypted profiles); inventory: transfer_lines.received_quantity, so a store can
receive part of a transfer

The indexes are computed with the key ring the migration is run with (``Container.migrate``
passes it; else it is loaded from settings like the server does). Received transfers count
every unit received.

Revision ID: 0020_search_partial_receipt
Revises: 0016_password_reset_codes
Create Date: 2026-12-04 16:00:00
"""

import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from omniretail.migrations.keys import migration_vault

revision: str = "0020_search_partial_receipt"
down_revision: str | None = "0016_password_reset_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of customers.service.search (index kinds and the coarse values).
SURNAME, POSTCODE = "surname", "postcode_outward"
UK_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$")
BATCH = 500


def _surname(name: str | None) -> str | None:
    words = (name or "").split()
    return words[-1].lower() if words else None


def _outward(postcode: str | None) -> str | None:
    key = re.sub(r"\s+", "", postcode or "").upper()
    if not key:
        return None
    return key[:-3] if UK_POSTCODE.match(key) else key


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("surname_index", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("postcode_index", sa.String(length=40), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_customers_surname_index"), ["surname_index"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customers_postcode_index"), ["postcode_index"], unique=False
        )
    with op.batch_alter_table("transfer_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("received_quantity", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_check_constraint(
            "received_within", "received_quantity >= 0 AND received_quantity <= quantity"
        )
    op.execute(
        "UPDATE transfer_lines SET received_quantity = quantity WHERE transfer_id IN"
        " (SELECT id FROM transfers WHERE status = 'received')"
    )
    _index_customers()


def _index_customers() -> None:
    bind = op.get_bind()
    customers = sa.table(
        "customers",
        sa.column("id", sa.BigInteger),
        sa.column("name_enc", sa.Text),
        sa.column("address_enc", sa.Text),
        sa.column("surname_index", sa.String),
        sa.column("postcode_index", sa.String),
    )
    c = customers.c
    vault = None
    after = 0
    while True:
        rows = bind.execute(
            sa.select(c.id, c.name_enc, c.address_enc)
            .where(c.id > after, sa.or_(c.name_enc.is_not(None), c.address_enc.is_not(None)))
            .order_by(c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        vault = vault or migration_vault()
        for row in rows:
            surname = _surname(vault.decrypt("name", row.name_enc))
            address = vault.decrypt("address", row.address_enc)
            outward = _outward(json.loads(address).get("postcode") if address else None)
            bind.execute(
                sa.update(customers)
                .where(c.id == row.id)
                .values(
                    surname_index=vault.blind_index(SURNAME, surname) if surname else None,
                    postcode_index=vault.blind_index(POSTCODE, outward) if outward else None,
                )
            )
        after = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("transfer_lines", schema=None) as batch_op:
        batch_op.drop_constraint("received_within", type_="check")
        batch_op.drop_column("received_quantity")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_postcode_index"))
        batch_op.drop_index(batch_op.f("ix_customers_surname_index"))
        batch_op.drop_column("postcode_index")
        batch_op.drop_column("surname_index")
