"""one-time codes get a ``purpose`` (``identity``: the identifier is the customer's;
``redemption``: the customer is at the till and agrees to spend points) and ``bound_to`` (the
sale a redemption code was sent for), so a sign-up code never pays with points and a till
code never verifies an identifier; support messages get ``sender_verified`` (each incoming
message's own sender check, not its conversation's)

Existing codes were all sent to verify identifiers (server default ``identity``).

Revision ID: 0046_presence_codes
Revises: 0045_delivery_lanes
Create Date: 2026-12-05 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0046_presence_codes"
down_revision: str | None = "0045_delivery_lanes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place: a constant default adds no table copy (SQLite) and no rewrite (PostgreSQL).
    op.add_column(
        "identity_verification_codes",
        sa.Column("purpose", sa.String(length=20), server_default="identity", nullable=False),
    )
    op.add_column(
        "identity_verification_codes", sa.Column("bound_to", sa.String(length=200), nullable=True)
    )
    op.add_column("support_messages", sa.Column("sender_verified", sa.Boolean(), nullable=True))


def downgrade() -> None:
    # In place (SQLite 3.35+ drops a plain column without copying the table).
    op.execute("ALTER TABLE support_messages DROP COLUMN sender_verified")
    op.execute("ALTER TABLE identity_verification_codes DROP COLUMN bound_to")
    op.execute("ALTER TABLE identity_verification_codes DROP COLUMN purpose")
