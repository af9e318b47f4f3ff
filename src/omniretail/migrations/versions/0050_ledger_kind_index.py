"""loyalty_entries: an index on (kind, effective_at)

The programme overview (HQ and ``GET /api/v1/loyalty/overview``) sums the points earned and
redeemed in the last 30 days: entries of two kinds with a business time after a date. Without
this index both sums read the whole ledger; with it each is a range read of its two kinds
(on a million entries, about 107 ms down to 5 ms on PostgreSQL: docs/performance.md).

Building it reads ``loyalty_entries`` once and blocks writes to it meanwhile (PostgreSQL;
SQLite likewise): on a large ledger, give the migration that time.

Revision ID: 0050_ledger_kind_index
Revises: 0049_holds_on_stock_rows
Create Date: 2026-12-06 13:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0050_ledger_kind_index"
down_revision: str | None = "0049_holds_on_stock_rows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_loyalty_entries_kind_effective", "loyalty_entries", ["kind", "effective_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_loyalty_entries_kind_effective", table_name="loyalty_entries")
