"""loyalty_goodwill_days: goodwill points each person credited by hand, per UTC day

An agent (or any account with ``loyalty:adjust``) could credit 100,000 points a call with no
limit: a stolen account could mint points for an accomplice. Credits are now counted here
by a conditional upsert against ``loyalty_goodwill_points_per_day``.

Revision ID: 0054_goodwill_days
Revises: 0053_birthday_since
Create Date: 2026-12-07 07:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0054_goodwill_days"
down_revision: str | None = "0053_birthday_since"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loyalty_goodwill_days",
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("points > 0", name=op.f("ck_loyalty_goodwill_days_points_positive")),
        sa.PrimaryKeyConstraint("actor", "day", name=op.f("pk_loyalty_goodwill_days")),
    )


def downgrade() -> None:
    op.drop_table("loyalty_goodwill_days")
