"""support core: teams (business hours, SLA targets), conversations from every channel,
their messages (bodies and senders as vault ciphertext, Message-ID unique), attachments and
canned replies

Revision ID: 0039_support_core
Revises: 0038_results_clicks
Create Date: 2026-12-05 05:32:13.602187
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039_support_core"
down_revision: str | None = "0038_results_clicks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "support_canned_replies",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_canned_replies")),
        sa.UniqueConstraint("code", name=op.f("uq_support_canned_replies_code")),
    )
    op.create_table(
        "support_teams",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=60), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_teams")),
        sa.UniqueConstraint("address", name=op.f("uq_support_teams_address")),
        sa.UniqueConstraint("code", name=op.f("uq_support_teams_code")),
    )
    op.create_table(
        "support_conversations",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=12), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("team_id", BigIntPK, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("assignee_id", BigIntPK, nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("subject_enc", sa.Text(), nullable=True),
        sa.Column("contact_kind", sa.String(length=20), nullable=True),
        sa.Column("contact_enc", sa.Text(), nullable=True),
        sa.Column("contact_index", sa.String(length=40), nullable=True),
        sa.Column("customer_id", BigIntPK, nullable=True),
        sa.Column("order_id", BigIntPK, nullable=True),
        sa.Column("fulfilment_id", sa.String(length=36), nullable=True),
        sa.Column("return_request_code", sa.String(length=16), nullable=True),
        sa.Column("merged_into_id", BigIntPK, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("last_message_at", TS, nullable=False),
        sa.Column("first_response_at", TS, nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("first_response_due", TS, nullable=True),
        sa.Column("resolution_due", TS, nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'chat', 'webhook-social', 'phone', 'in_store')",
            name=op.f("ck_support_conversations_channel_known"),
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')",
            name=op.f("ck_support_conversations_priority_known"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'pending', 'resolved', 'closed')",
            name=op.f("ck_support_conversations_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["principals.id"],
            name=op.f("fk_support_conversations_assignee_id_principals"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_support_conversations_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["fulfilment_id"],
            ["fulfilments.id"],
            name=op.f("fk_support_conversations_fulfilment_id_fulfilments"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["support_conversations.id"],
            name=op.f("fk_support_conversations_merged_into_id_support_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_support_conversations_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["return_request_code"],
            ["return_requests.code"],
            name=op.f("fk_support_conversations_return_request_code_return_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["support_teams.id"],
            name=op.f("fk_support_conversations_team_id_support_teams"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_conversations")),
        sa.UniqueConstraint("reference", name=op.f("uq_support_conversations_reference")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_support_conversations_token_hash")),
    )
    with op.batch_alter_table("support_conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_conversations_assignee_id"), ["assignee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_conversations_contact_index"), ["contact_index"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_conversations_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_conversations_order_id"), ["order_id"], unique=False
        )
        batch_op.create_index(
            "ix_support_conversations_queue", ["team_id", "status", "last_message_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_conversations_team_id"), ["team_id"], unique=False
        )

    op.create_table(
        "support_messages",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("conversation_id", BigIntPK, nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("in_reply_to", sa.String(length=300), nullable=True),
        sa.Column("sender_enc", sa.Text(), nullable=True),
        sa.Column("sender_index", sa.String(length=40), nullable=True),
        sa.Column("body_enc", sa.Text(), nullable=False),
        sa.Column("quoted_trimmed", sa.Boolean(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("attachments_refused", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.CheckConstraint(
            "direction IN ('in', 'out', 'note')", name=op.f("ck_support_messages_direction_known")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["support_conversations.id"],
            name=op.f("fk_support_messages_conversation_id_support_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_support_messages_message_id")),
    )
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_messages_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_messages_sender_index"), ["sender_index"], unique=False
        )

    op.create_table(
        "support_attachments",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("message_id", BigIntPK, nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["support_messages.id"],
            name=op.f("fk_support_attachments_message_id_support_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_attachments")),
    )
    with op.batch_alter_table("support_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_attachments_message_id"), ["message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("support_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_attachments_message_id"))

    op.drop_table("support_attachments")
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_messages_sender_index"))
        batch_op.drop_index(batch_op.f("ix_support_messages_conversation_id"))

    op.drop_table("support_messages")
    with op.batch_alter_table("support_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_conversations_team_id"))
        batch_op.drop_index("ix_support_conversations_queue")
        batch_op.drop_index(batch_op.f("ix_support_conversations_order_id"))
        batch_op.drop_index(batch_op.f("ix_support_conversations_customer_id"))
        batch_op.drop_index(batch_op.f("ix_support_conversations_contact_index"))
        batch_op.drop_index(batch_op.f("ix_support_conversations_assignee_id"))

    op.drop_table("support_conversations")
    op.drop_table("support_teams")
    op.drop_table("support_canned_replies")
