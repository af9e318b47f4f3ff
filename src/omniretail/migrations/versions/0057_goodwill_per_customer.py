"""api_keys.created_by (who made a key) and fulfilments.pickup_code_tries (pickup codes tried)

A black-box probe found two low-severity gaps. Goodwill points were counted per principal: an
admin's sign-in and an API key the admin made for a system principal each had a day's
allowance. A key now records the person who created it (the one it was shown to), and its
goodwill credits count against them (the allowance a customer may receive a day, from all
staff together, is counted in ``loyalty_goodwill_days`` and needs no schema change). And a
wrong pickup code at the counter was refused but never counted: each code tried for a
fulfilment is now counted before it is compared, and after five the code is refused until
the store hands over with an override and a reason.

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
    op.add_column(
        "fulfilments",
        sa.Column("pickup_code_tries", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("fulfilments", "pickup_code_tries")
    op.drop_column("api_keys", "created_by")
