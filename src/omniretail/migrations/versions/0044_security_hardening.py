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

    # Plain ADD COLUMN (SQLite has it): a batch copy would drop support_messages, which
    # attachments reference, and fail on SQLite's foreign keys.
    op.add_column("support_conversations", sa.Column("sender_verified", sa.Boolean()))
    op.add_column("support_conversations", sa.Column("token_customer_id", BigIntPK))
    # A chat started by a signed-in customer: the customer it was linked to at the start.
    op.execute(
        "UPDATE support_conversations SET token_customer_id = customer_id"
        " WHERE token_hash IS NOT NULL AND customer_id IS NOT NULL"
    )
    op.add_column("support_messages", sa.Column("origin_conversation_id", BigIntPK))
    op.create_index(
        op.f("ix_support_messages_origin_conversation_id"),
        "support_messages",
        ["origin_conversation_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_support_messages_origin_conversation_id"), table_name="support_messages")
    op.drop_column("support_messages", "origin_conversation_id")
    op.drop_column("support_conversations", "token_customer_id")
    op.drop_column("support_conversations", "sender_verified")
    op.drop_index(op.f("ix_revoked_tokens_expires_at"), table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
