"""``code_send_quotas``: the one-time codes of a purpose each staff principal sent per clock
hour, across all customers (``customers.service.verification``), so a till's presence codes
are limited per principal as well as per person; ``refused`` counts the sends turned away.

Revision ID: 0047_code_send_quotas
Revises: 0046_presence_codes
Create Date: 2026-12-06 01:06:52
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0047_code_send_quotas"
down_revision: str | None = "0046_presence_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "code_send_quotas",
        sa.Column("principal", sa.String(length=120), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "sent >= 0 AND refused >= 0", name=op.f("ck_code_send_quotas_counts_not_negative")
        ),
        sa.PrimaryKeyConstraint("principal", "purpose", "hour", name=op.f("pk_code_send_quotas")),
    )


def downgrade() -> None:
    op.drop_table("code_send_quotas")
