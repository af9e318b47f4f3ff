"""customers: one-time verification codes for identities, evidence of each verification;
auth: permissions granted to a principal by name

Revision ID: 0011_identity_verification
Revises: 0010_drop_order_lines_index
Create Date: 2026-12-04 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_identity_verification"
down_revision: str | None = "0010_drop_order_lines_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("customer_identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("verification_ref", sa.String(length=200), nullable=True))
    with op.batch_alter_table("principals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "permissions",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'[]'"),
                nullable=False,
            )
        )
    op.create_table(
        "identity_verification_codes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("identity_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("code_hash", sa.String(length=100), nullable=False),
        sa.Column("code_enc", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'used', 'superseded', 'locked', 'expired')",
            name=op.f("ck_identity_verification_codes_status_known"),
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'sms')", name=op.f("ck_identity_verification_codes_channel_known")
        ),
        sa.CheckConstraint(
            "attempts >= 0", name=op.f("ck_identity_verification_codes_attempts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_identity_verification_codes_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["customer_identities.id"],
            name=op.f("fk_identity_verification_codes_identity_id_customer_identities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_verification_codes")),
    )
    with op.batch_alter_table("identity_verification_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_verification_codes_identity_id"), ["identity_id"], unique=False
        )
        batch_op.create_index(
            "ix_identity_verification_codes_customer", ["customer_id", "created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("identity_verification_codes")
    with op.batch_alter_table("principals", schema=None) as batch_op:
        batch_op.drop_column("permissions")
    with op.batch_alter_table("customer_identities", schema=None) as batch_op:
        batch_op.drop_column("verification_ref")
        batch_op.drop_column("verified_by")
