"""promotion stamp: ``pricing_stamps`` with the row ``promotions``, given a new random stamp by
triggers on every insert, update or delete of a promotion (processes keep the active
promotions in memory and reload them when the stamp changes)

Revision ID: 0031_promotion_stamp
Revises: 0030_dynamic_pricing
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031_promotion_stamp"
down_revision: str | None = "0030_dynamic_pricing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = "UPDATE pricing_stamps SET stamp = {value} WHERE name = 'promotions'"


def upgrade() -> None:
    stamps = op.create_table(
        "pricing_stamps",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pricing_stamps")),
    )
    op.bulk_insert(stamps, [{"name": "promotions", "stamp": 0}])
    if op.get_bind().dialect.name == "postgresql":
        value = "floor(random() * 9007199254740991)::bigint"
        op.execute(
            f"""
            CREATE FUNCTION promotions_stamp() RETURNS trigger AS $$
            BEGIN
                {STAMP.format(value=value)};
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER promotions_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
            " ON promotions FOR EACH STATEMENT EXECUTE FUNCTION promotions_stamp()"
        )
    else:
        for action in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER promotions_stamp_{action.lower()} AFTER {action} ON promotions"
                f" BEGIN {STAMP.format(value='random()')}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS promotions_stamp ON promotions")
        op.execute("DROP FUNCTION IF EXISTS promotions_stamp()")
    else:
        for action in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS promotions_stamp_{action}")
    op.drop_table("pricing_stamps")
