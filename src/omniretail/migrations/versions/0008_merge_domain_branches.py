"""One history: merge the domain branches that were developed side by side.

Revision ID: 0008
Revises: 0003_messaging, 0004_intelligence, 0006_orders, 0007_customer_activity_indexes
Create Date: 2026-11-22 21:18:52
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | Sequence[str] | None = (
    "0003_messaging",
    "0004_intelligence",
    "0006_orders",
    "0007_customer_activity_indexes",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
