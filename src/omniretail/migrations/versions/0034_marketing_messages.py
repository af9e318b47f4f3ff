"""marketing messages: one message with a rendition per channel, and clicks on its links

Revision ID: 0034_marketing_messages
Revises: 0033_segments
Create Date: 2026-12-05 00:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034_marketing_messages"
down_revision: str | None = "0033_segments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "marketing_messages",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link_url", sa.String(length=2000), nullable=True),
        sa.Column("link_label", sa.String(length=100), nullable=True),
        sa.Column("image_url", sa.String(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_messages")),
        sa.UniqueConstraint("code", name=op.f("uq_marketing_messages_code")),
    )
    op.create_table(
        "marketing_message_clicks",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("message_id", BigIntPK, nullable=False),
        sa.Column("customer_id", BigIntPK, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_marketing_message_clicks_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["marketing_messages.id"],
            name=op.f("fk_marketing_message_clicks_message_id_marketing_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_message_clicks")),
    )
    op.create_index(
        "ix_marketing_message_clicks_message",
        "marketing_message_clicks",
        ["message_id", "clicked_at"],
    )
    op.create_index(
        op.f("ix_marketing_message_clicks_customer_id"),
        "marketing_message_clicks",
        ["customer_id"],
    )


def downgrade() -> None:
    op.drop_table("marketing_message_clicks")
    op.drop_table("marketing_messages")
