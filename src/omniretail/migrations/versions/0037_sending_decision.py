"""marketing sending: durable sends and their one decision, suppressions, attributes, the send
policy and the inbox / store / receipt cards

Revision ID: 0037_sending_decision
Revises: 0036_journeys_engine
Create Date: 2026-12-05 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0037_sending_decision"
down_revision: str | None = "0036_journeys_engine"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def _customer_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["customer_id"], ["customers.id"], name=op.f(f"fk_{table}_customer_id_customers")
    )


def upgrade() -> None:
    op.create_table(
        "marketing_sends",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("customer_id", BigIntPK, nullable=False),
        sa.Column("message_code", sa.String(length=60), nullable=False),
        sa.Column("requested_channel", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("transactional", sa.Boolean(), nullable=False),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("premise", sa.String(length=20), nullable=False),
        sa.Column("context", JSONType, nullable=False),
        sa.Column("journey_id", sa.BigInteger(), nullable=True),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("step_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("notification_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'held', 'sent', 'suppressed', 'dropped', 'failed')",
            name=op.f("ck_marketing_sends_status_known"),
        ),
        _customer_fk("marketing_sends"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_sends")),
        sa.UniqueConstraint("key", name=op.f("uq_marketing_sends_key")),
    )
    op.create_index("ix_marketing_sends_status_due", "marketing_sends", ["status", "due_at"])
    op.create_index(
        "ix_marketing_sends_customer_sent", "marketing_sends", ["customer_id", "sent_at"]
    )
    for column in ("customer_id", "journey_id", "run_id"):
        op.create_index(op.f(f"ix_marketing_sends_{column}"), "marketing_sends", [column])
    op.create_table(
        "marketing_suppressions",
        sa.Column("customer_id", BigIntPK, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "reason IN ('bounced', 'complained', 'manual', 'unsubscribed')",
            name=op.f("ck_marketing_suppressions_reason_known"),
        ),
        _customer_fk("marketing_suppressions"),
        sa.PrimaryKeyConstraint("customer_id", "channel", name=op.f("pk_marketing_suppressions")),
    )
    op.create_table(
        "marketing_attributes",
        sa.Column("customer_id", BigIntPK, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _customer_fk("marketing_attributes"),
        sa.PrimaryKeyConstraint("customer_id", "name", name=op.f("pk_marketing_attributes")),
    )
    op.create_table(
        "marketing_policy",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("policy", JSONType, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_policy")),
    )
    op.create_table(
        "marketing_cards",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("customer_id", BigIntPK, nullable=False),
        sa.Column("placement", sa.String(length=20), nullable=False),
        sa.Column("send_id", BigIntPK, nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("seen_at", TS, nullable=True),
        sa.Column("dismissed_at", TS, nullable=True),
        sa.CheckConstraint(
            "placement IN ('inbox', 'store', 'receipt')",
            name=op.f("ck_marketing_cards_placement_known"),
        ),
        _customer_fk("marketing_cards"),
        sa.ForeignKeyConstraint(
            ["send_id"],
            ["marketing_sends.id"],
            name=op.f("fk_marketing_cards_send_id_marketing_sends"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_cards")),
        sa.UniqueConstraint("send_id", name=op.f("uq_marketing_cards_send_id")),
    )
    op.create_index(
        "ix_marketing_cards_customer",
        "marketing_cards",
        ["customer_id", "placement", "dismissed_at"],
    )


def downgrade() -> None:
    op.drop_table("marketing_cards")
    op.drop_table("marketing_policy")
    op.drop_table("marketing_attributes")
    op.drop_table("marketing_suppressions")
    op.drop_table("marketing_sends")
