"""api_keys.created_by: who made an API key

A black-box probe found goodwill points counted per principal: an admin's sign-in and an API
key the admin made for a system principal each had a day's allowance. A key now records the
person who created it (the one it was shown to), and its goodwill credits count against them
(the allowance a customer may receive a day, from all staff together, is counted in
``loyalty_goodwill_days`` and needs no schema change).

Revision ID: 0057_goodwill_per_customer
Revises: 0056_sealed_tokens
Create Date: 2026-12-07 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0057_goodwill_per_customer"
down_revision: str | None = "0056_sealed_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("created_by", BigIntPK, nullable=True))


def downgrade() -> None:
    op.drop_column("api_keys", "created_by")
