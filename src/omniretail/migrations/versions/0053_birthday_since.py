"""customers.birthday_since: when a customer last changed their birthday

A birth date set (or changed) today was enough for today's birthday coupon, so anyone could
have one a year on demand. The coupon now waits ``birthday_on_file_days`` (the loyalty
programme's rule, 30 by default) after it is given or changed; every birthday on file before
this migration has no date here and counts as long on file.

Revision ID: 0053_birthday_since
Revises: 0052_webhook_secrets_sealed
Create Date: 2026-12-07 07:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0053_birthday_since"
down_revision: str | None = "0052_webhook_secrets_sealed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "customers", sa.Column("birthday_since", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("customers", "birthday_since")
