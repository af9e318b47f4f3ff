"""auth: password_reset_codes (customers' "forgot password" codes, hashed; the clear code
encrypted only until the relay sends it)

Revision ID: 0016_password_reset_codes
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_password_reset_codes"
down_revision: str | None = "0015_sign_in_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "password_reset_codes",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("principal_id", BIGINT, nullable=False),
        sa.Column("identity_id", BIGINT, nullable=False),
        sa.Column("code_hash", sa.String(length=100), nullable=False),
        sa.Column("code_enc", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'used', 'superseded', 'locked', 'expired')",
            name=op.f("ck_password_reset_codes_status_known"),
        ),
        sa.CheckConstraint(
            "attempts >= 0", name=op.f("ck_password_reset_codes_attempts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_password_reset_codes_principal_id_principals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset_codes")),
    )
    with op.batch_alter_table("password_reset_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_password_reset_codes_principal", ["principal_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("password_reset_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_password_reset_codes_principal")
    op.drop_table("password_reset_codes")
