"""stock_holds, stock_movements and cart_lines: one foreign key (sku_code, location_code) to
the stock row (stock_levels' primary key) instead of one to skus and one to locations

The stock row itself names a SKU and a location, so the pair still names both; and a hold,
a movement or a cart line now also needs its stock row, which every write of one already has
(it changes the row's counters in the same transaction: a cart line is written with its
reservation). The check then share-locks a row the
writer holds locked already: the SKU's and the location's rows were share-locked by every
concurrent buyer (on PostgreSQL a multixact on the hot SKU's row per reservation).

A (SKU, location) pair found in either table without a stock row gets one with zero counters
(what reads took its missing row for). SQLite rebuilds the tables (batch mode), which drops
the ledger's append-only triggers: they are made again.

Revision ID: 0049_holds_on_stock_rows
Revises: 0048_auth_notify
Create Date: 2026-12-06 07:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0049_holds_on_stock_rows"
down_revision: str | None = "0048_auth_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("stock_holds", "stock_movements", "cart_lines")
STOCK_ROW = (["sku_code", "location_code"], ["sku_code", "location_code"])
ROWS_WITHOUT_STOCK_ROW = """
INSERT INTO stock_levels (sku_code, location_code, on_hand, reserved, allocated, in_transit,
                          safety_stock, updated_at)
SELECT sku_code, location_code, 0, 0, 0, 0, 0, MIN(created_at)
FROM (
    SELECT sku_code, location_code, created_at FROM stock_holds
    UNION ALL
    SELECT sku_code, location_code, created_at FROM stock_movements
    UNION ALL
    SELECT sku_code, location_code, created_at FROM cart_lines
) AS written
WHERE NOT EXISTS (
    SELECT 1 FROM stock_levels AS l
    WHERE l.sku_code = written.sku_code AND l.location_code = written.location_code
)
GROUP BY sku_code, location_code
"""


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.execute(ROWS_WITHOUT_STOCK_ROW)
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_sku_code_skus", type_="foreignkey")
            batch_op.drop_constraint(f"fk_{table}_location_code_locations", type_="foreignkey")
            batch_op.create_foreign_key(
                f"fk_{table}_sku_code_stock_levels", "stock_levels", *STOCK_ROW
            )
    if _sqlite():
        _ledger_triggers()


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_sku_code_stock_levels", type_="foreignkey")
            batch_op.create_foreign_key(
                f"fk_{table}_location_code_locations", "locations", ["location_code"], ["code"]
            )
            batch_op.create_foreign_key(f"fk_{table}_sku_code_skus", "skus", ["sku_code"], ["code"])
    if _sqlite():
        _ledger_triggers()


def _ledger_triggers() -> None:
    """0001's append-only triggers on SQLite (the rebuilt table lost them)."""
    for action in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS stock_movements_no_{action.lower()}")
        op.execute(
            f"CREATE TRIGGER stock_movements_no_{action.lower()} BEFORE {action}"
            " ON stock_movements BEGIN SELECT RAISE(ABORT, 'stock_movements is append-only');"
            " END"
        )
