"""orders: drop ix_order_lines_order; the unique (order_id, line_no) index serves the same
look-ups by order

Revision ID: 0010_drop_order_lines_index
Revises: 0009_location_curbside
Create Date: 2026-11-23 00:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_drop_order_lines_index"
down_revision: str | None = "0009_location_curbside"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_order_lines_order")


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index("ix_order_lines_order", ["order_id"], unique=False)
