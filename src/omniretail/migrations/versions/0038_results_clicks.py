"""results clicks: ``marketing_message_clicks.send_id``, the send whose tracked link was
clicked (so a click counts for its journey, step and channel); older clicks keep none

Revision ID: 0038_results_clicks
Revises: 0037_sending_decision
Create Date: 2026-12-05 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038_results_clicks"
down_revision: str | None = "0037_sending_decision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("marketing_message_clicks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_id", BigIntPK, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_marketing_message_clicks_send_id_marketing_sends"),
            "marketing_sends",
            ["send_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_marketing_message_clicks_send_id"), ["send_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("marketing_message_clicks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_marketing_message_clicks_send_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_marketing_message_clicks_send_id_marketing_sends"), type_="foreignkey"
        )
        batch_op.drop_column("send_id")
