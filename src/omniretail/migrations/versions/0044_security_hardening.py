"""security hardening: ``revoked_tokens`` (signed-out bearer tokens, by ``jti``, until they
expire);
``support_conversations.sender_verified`` (an email's sender authenticated or not),
``support_conversations.token_customer_id`` (whom a chat token speaks for) and
``support_messages.origin_conversation_id`` (where a merged message was written)

Revision ID: 0044_security_hardening
Revises: 0043_outbox_planned_at
Create Date: 2026-12-05 15:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0044_security_hardening"
down_revision: str | None = "0043_outbox_planned_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "revoked_tokens",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("principal_id", BigIntPK, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_revoked_tokens")),
    )
    op.create_index(
        op.f("ix_revoked_tokens_expires_at"), "revoked_tokens", ["expires_at"], unique=False
    )

    with op.batch_alter_table("support_conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_verified", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("token_customer_id", BigIntPK, nullable=True))
    # A chat started by a signed-in customer: the customer it was linked to at the start.
    op.execute(
        "UPDATE support_conversations SET token_customer_id = customer_id"
        " WHERE token_hash IS NOT NULL AND customer_id IS NOT NULL"
    )
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_conversation_id", BigIntPK, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_support_messages_origin_conversation_id"),
            ["origin_conversation_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_messages_origin_conversation_id"))
        batch_op.drop_column("origin_conversation_id")
    with op.batch_alter_table("support_conversations", schema=None) as batch_op:
        batch_op.drop_column("token_customer_id")
        batch_op.drop_column("sender_verified")
    op.drop_index(op.f("ix_revoked_tokens_expires_at"), table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
