"""order and fulfilment events without the tracking token

The tracking token is a bearer link to the order's tracking page, which shows the pickup code
while the order waits: events carried it, so every webhook subscriber and the NATS stream
could collect orders. Events now name the order by its number only; the token is scrubbed
from the events already in the outbox and from pending payment attempts' kept events.

Revision ID: 0055_events_no_tracking_tokens
Revises: 0054_goodwill_days
Create Date: 2026-12-07 07:55:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0055_events_no_tracking_tokens"
down_revision: str | None = "0054_goodwill_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(JSONB(), "postgresql")
TOKEN = "tracking_token"


def _scrub(table: str, key: str, column: str, *, types: str | None = None) -> None:
    """Drops the token from the JSON ``column`` of each row holding it (``types``: only
    outbox rows whose type is like it)."""
    bind = op.get_bind()
    rows_of = sa.table(
        table, sa.column(key), sa.column(column, JSON_TYPE), sa.column("type", sa.String)
    )
    text = sa.cast(rows_of.c[column], sa.Text)
    query = sa.select(rows_of.c[key], rows_of.c[column]).where(text.like(f'%"{TOKEN}"%'))
    if types is not None:
        query = query.where(rows_of.c.type.like(types))
    for row_key, value in bind.execute(query).all():
        data = json.loads(value) if isinstance(value, str) else value
        if isinstance(data, dict) and TOKEN in data:
            scrubbed = {k: v for k, v in data.items() if k != TOKEN}
            bind.execute(
                sa.update(rows_of).where(rows_of.c[key] == row_key).values({column: scrubbed})
            )


def upgrade() -> None:
    _scrub("outbox", "position", "data", types="omniretail.orders.%")
    _scrub("order_payment_attempts", "id", "confirmation")


def downgrade() -> None:
    # The tokens are not put back into old events: the orders keep theirs.
    pass
