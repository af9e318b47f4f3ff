"""fulfilment: return_requests and their lines (return authorisations: by post or in store)

Revision ID: 0023_return_requests
Revises: 0016_password_reset_codes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_return_requests"
down_revision = "0020_search_partial_receipt"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "return_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("order_id", BIGINT, nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("destination", sa.String(length=40), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_location", sa.String(length=40), nullable=True),
        sa.Column("return_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "(status = 'received') = (received_at IS NOT NULL)",
            name=op.f("ck_return_requests_received_when_received"),
        ),
        sa.CheckConstraint(
            "method = 'in_store' OR destination IS NOT NULL",
            name=op.f("ck_return_requests_post_has_desk"),
        ),
        sa.CheckConstraint(
            "method IN ('post', 'in_store')", name=op.f("ck_return_requests_method_known")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'received', 'cancelled', 'expired')",
            name=op.f("ck_return_requests_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["destination"],
            ["locations.code"],
            name=op.f("fk_return_requests_destination_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_return_requests_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["received_location"],
            ["locations.code"],
            name=op.f("fk_return_requests_received_location_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_requests")),
        sa.UniqueConstraint("code", name=op.f("uq_return_requests_code")),
    )
    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        batch_op.create_index("ix_return_requests_due", ["status", "expires_at"], unique=False)
        batch_op.create_index("ix_return_requests_order", ["order_id", "status"], unique=False)

    op.create_table(
        "return_request_lines",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_request_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["return_requests.id"],
            name=op.f("fk_return_request_lines_request_id_return_requests"),
        ),
        sa.PrimaryKeyConstraint("request_id", "line_no", name=op.f("pk_return_request_lines")),
    )


def downgrade() -> None:
    op.drop_table("return_request_lines")
    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_return_requests_order")
        batch_op.drop_index("ix_return_requests_due")

    op.drop_table("return_requests")
