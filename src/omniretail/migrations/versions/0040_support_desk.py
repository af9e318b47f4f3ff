"""support desk: the satisfaction survey asked after a conversation is resolved

Revision ID: 0040_support_desk
Revises: 0039_support_core
Create Date: 2026-12-05 05:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040_support_desk"
down_revision: str | None = "0039_support_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "support_surveys",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("conversation_id", BigIntPK, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("asked_at", TS, nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.String(length=500), nullable=True),
        sa.Column("answered_at", TS, nullable=True),
        sa.CheckConstraint(
            "rating IS NULL OR rating BETWEEN 1 AND 5",
            name=op.f("ck_support_surveys_rating_1_to_5"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["support_conversations.id"],
            name=op.f("fk_support_surveys_conversation_id_support_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_surveys")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_support_surveys_token_hash")),
    )
    with op.batch_alter_table("support_surveys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_surveys_conversation_id"), ["conversation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("support_surveys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_surveys_conversation_id"))
    op.drop_table("support_surveys")
