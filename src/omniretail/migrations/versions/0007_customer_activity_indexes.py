"""customers: partial indexes on customer_activity (cheaper event ingest, a purchases index)

Revision ID: 0007_customer_activity_indexes
Revises: 0005_customers
Create Date: 2026-11-22 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_customer_activity_indexes"
down_revision: str | None = "0005_customers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The indexes are dropped first and made again after the constraint goes: on SQLite the
    # batch recreates the table and would not carry their WHERE clauses over.
    op.drop_index("ix_customer_activity_timeline", table_name="customer_activity")
    op.drop_index("ix_customer_activity_anonymous", table_name="customer_activity")
    with op.batch_alter_table("customer_activity", schema=None) as batch_op:
        batch_op.drop_constraint("uq_customer_activity_source_key", type_="unique")
    with op.batch_alter_table("customer_activity", schema=None) as batch_op:
        batch_op.create_index(
            "uq_customer_activity_source_key",
            ["source_key"],
            unique=True,
            sqlite_where=sa.text("source_key IS NOT NULL"),
            postgresql_where=sa.text("source_key IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_customer_activity_timeline",
            ["customer_id", "occurred_at"],
            unique=False,
            sqlite_where=sa.text("customer_id IS NOT NULL"),
            postgresql_where=sa.text("customer_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_customer_activity_purchases",
            ["customer_id", "occurred_at"],
            unique=False,
            sqlite_where=sa.text("kind IN ('order', 'return')"),
            postgresql_where=sa.text("kind IN ('order', 'return')"),
        )
        batch_op.create_index(
            "ix_customer_activity_anonymous",
            ["anonymous_id"],
            unique=False,
            sqlite_where=sa.text("customer_id IS NULL"),
            postgresql_where=sa.text("customer_id IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_activity", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_activity_anonymous")
        batch_op.drop_index("ix_customer_activity_purchases")
        batch_op.drop_index("ix_customer_activity_timeline")
        batch_op.drop_index("uq_customer_activity_source_key")
    with op.batch_alter_table("customer_activity", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_customer_activity_source_key", ["source_key"])
    with op.batch_alter_table("customer_activity", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_activity_anonymous",
            ["anonymous_id"],
            unique=False,
            sqlite_where=sa.text("customer_id IS NULL"),
            postgresql_where=sa.text("customer_id IS NULL"),
        )
        batch_op.create_index(
            "ix_customer_activity_timeline", ["customer_id", "occurred_at"], unique=False
        )
