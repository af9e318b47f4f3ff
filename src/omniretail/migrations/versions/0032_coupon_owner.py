"""coupon owner: ``coupons.customer_id``, the customer a coupon was issued to (the loyalty
programme's birthday and welcome coupons); only that customer's profiles may use it

Revision ID: 0032_coupon_owner
Revises: 0031_promotion_stamp
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_coupon_owner"
down_revision: str | None = "0031_promotion_stamp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", BigIntPK, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_coupons_customer_id_customers"), "customers", ["customer_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_coupons_customer_id"), ["customer_id"], unique=False)
    # The coupons the programme issued before: each belongs to the customer it was granted to.
    op.execute(
        "UPDATE coupons SET customer_id = (SELECT g.customer_id FROM loyalty_coupon_grants g"
        " WHERE g.coupon_code = coupons.code)"
        " WHERE code IN (SELECT coupon_code FROM loyalty_coupon_grants)"
    )


def downgrade() -> None:
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupons_customer_id"))
        batch_op.drop_constraint(batch_op.f("fk_coupons_customer_id_customers"), type_="foreignkey")
        batch_op.drop_column("customer_id")
