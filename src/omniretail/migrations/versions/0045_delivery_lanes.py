"""deliveries: ``lane`` (0 foreground, 1 background: set when planned, from the handler's
registration) and a partial index of the due deliveries by (lane, position, id), so the
relay's claim reads a batch in order from the index instead of sorting every due delivery
(the sort by ``handler = ANY(background)`` could use no index and grew with the backlog);
likewise a partial index of the undecided marketing sends by (due_at, id) for
``deliver_due``'s claim (``status IN ('queued', 'held')`` ordered by due_at, id sorted them
all)

The due deliveries of the notification sender (the one background handler) move to the
background lane; finished deliveries keep 0 (the index leaves them out).

Revision ID: 0045_delivery_lanes
Revises: 0044_security_hardening
Create Date: 2026-12-05 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0045_delivery_lanes"
down_revision: str | None = "0044_security_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = "status IN ('pending', 'sending')"
UNDECIDED = "status IN ('queued', 'held')"
BACKGROUND_HANDLER = "messaging.send_notification"


def upgrade() -> None:
    # In place: a constant default adds no table copy (SQLite) and no rewrite (PostgreSQL).
    op.add_column(
        "deliveries",
        sa.Column("lane", sa.SmallInteger(), server_default="0", nullable=False),
    )
    op.execute(f"UPDATE deliveries SET lane = 1 WHERE {DUE} AND handler = '{BACKGROUND_HANDLER}'")
    op.create_index(
        "ix_deliveries_lane_due",
        "deliveries",
        ["lane", "position", "id"],
        unique=False,
        postgresql_where=sa.text(DUE),
        sqlite_where=sa.text(DUE),
    )

    op.create_index(
        "ix_marketing_sends_undecided_due",
        "marketing_sends",
        ["due_at", "id"],
        unique=False,
        postgresql_where=sa.text(UNDECIDED),
        sqlite_where=sa.text(UNDECIDED),
    )


def downgrade() -> None:
    op.drop_index("ix_marketing_sends_undecided_due", table_name="marketing_sends")
    op.drop_index("ix_deliveries_lane_due", table_name="deliveries")
    # In place (SQLite 3.35+ drops a plain column without copying the table).
    op.execute("ALTER TABLE deliveries DROP COLUMN lane")
