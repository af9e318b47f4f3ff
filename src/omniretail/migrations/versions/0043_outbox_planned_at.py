"""outbox: ``planned_at`` (set by the relay when it plans a message's deliveries) and a
partial index on the messages still to plan, so planning no longer reads every unpublished
message against ``deliveries``; it replaces ``ix_outbox_unpublished``, which only planning
and the relay's idle probe read (SQLite would keep choosing it over the partial index)

Unpublished messages already planned (with deliveries) get ``planned_at``: the time of
their first delivery. Published messages are left as they are (the partial index leaves them
out whatever their stamp), so the migration touches only the backlog, not every row of a
large outbox.

Revision ID: 0043_outbox_planned_at
Revises: 0042_support_wire_attachments
Create Date: 2026-12-05 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0043_outbox_planned_at"
down_revision: str | None = "0042_support_wire_attachments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPLANNED = "planned_at IS NULL AND published_at IS NULL"


def upgrade() -> None:
    # In place (a nullable column: no table copy on SQLite, no rewrite on PostgreSQL).
    op.add_column("outbox", sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE outbox SET planned_at ="
        " (SELECT MIN(d.created_at) FROM deliveries d WHERE d.message_id = outbox.id)"
        " WHERE published_at IS NULL"
        " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = outbox.id)"
    )
    op.create_index(
        "ix_outbox_unplanned",
        "outbox",
        ["position"],
        unique=False,
        postgresql_where=sa.text(UNPLANNED),
        sqlite_where=sa.text(UNPLANNED),
    )
    op.drop_index("ix_outbox_unpublished", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "position"], unique=False)
    op.drop_index("ix_outbox_unplanned", table_name="outbox")
    # In place (SQLite 3.35+ drops a plain column without copying the table).
    op.execute("ALTER TABLE outbox DROP COLUMN planned_at")
