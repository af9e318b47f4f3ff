"""personal data outside the customer profile at rest only as ciphertext: orders' contact
email and delivery address, notifications; order events keep ids only

Existing values are encrypted here, with the key ring the migration is run with
(``Container.migrate`` passes it; else it is loaded from settings like the server does).

Revision ID: 0013_pii_outside_profile
Revises: 0012_jobs
Create Date: 2026-12-04 14:00:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from omniretail.migrations.keys import migration_vault

revision: str = "0013_pii_outside_profile"
down_revision: str | None = "0012_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the vault field names (orders.contact, messaging.notifications).
EMAIL_FIELD = "order_contact_email"
DELIVERY_FIELD = "order_delivery"
PERSONAL_DELIVERY_KEYS = ("address", "latitude", "longitude")
EVENT_PERSONAL_KEYS = frozenset({"contact_email", "address", "latitude", "longitude"})
SEALED = ("recipient", "subject", "body", "html_body")
JSON_TYPE = sa.JSON().with_variant(JSONB(), "postgresql")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_email_enc", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("delivery_enc", sa.Text(), nullable=True))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column(
            "recipient",
            existing_type=sa.String(length=320),
            type_=sa.Text(),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "subject", existing_type=sa.String(length=300), type_=sa.Text(), existing_nullable=True
        )
    _seal_orders()
    _seal_notifications()
    _scrub_order_events()
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("contact_email")


def _seal_orders() -> None:
    bind = op.get_bind()
    orders = sa.table(
        "orders",
        sa.column("id", sa.BigInteger),
        sa.column("contact_email", sa.String),
        sa.column("contact_email_enc", sa.Text),
        sa.column("delivery", JSON_TYPE),
        sa.column("delivery_enc", sa.Text),
    )
    rows = bind.execute(
        sa.select(orders.c.id, orders.c.contact_email, orders.c.delivery).where(
            sa.or_(orders.c.contact_email.is_not(None), orders.c.delivery.is_not(None))
        )
    ).all()
    if not rows:
        return
    vault = migration_vault()
    for row in rows:
        delivery = _json(row.delivery)
        values: dict[str, Any] = {
            "contact_email_enc": vault.encrypt(EMAIL_FIELD, row.contact_email)
        }
        if isinstance(delivery, dict):
            personal = {
                k: delivery[k] for k in PERSONAL_DELIVERY_KEYS if delivery.get(k) not in (None, {})
            }
            values["delivery"] = {
                k: v for k, v in delivery.items() if k not in PERSONAL_DELIVERY_KEYS
            }
            values["delivery_enc"] = (
                vault.encrypt(DELIVERY_FIELD, json.dumps(personal, sort_keys=True))
                if personal
                else None
            )
        bind.execute(sa.update(orders).where(orders.c.id == row.id).values(values))


def _seal_notifications() -> None:
    from omniretail.kernel.vault import is_ciphertext

    bind = op.get_bind()
    notifications = sa.table(
        "notifications", sa.column("id", sa.BigInteger), *(sa.column(c, sa.Text) for c in SEALED)
    )
    rows = bind.execute(sa.select(notifications)).all()
    if not rows:
        return
    vault = migration_vault()
    for row in rows:
        values = {
            c: vault.encrypt(f"notification_{c}", getattr(row, c))
            for c in SEALED
            if not is_ciphertext(getattr(row, c))
        }
        if values:
            bind.execute(
                sa.update(notifications).where(notifications.c.id == row.id).values(values)
            )


def _scrub_order_events() -> None:
    """Order events carried the contact email and the delivery address: they go."""
    bind = op.get_bind()
    outbox = sa.table(
        "outbox",
        sa.column("position", sa.BigInteger),
        sa.column("type", sa.String),
        sa.column("data", JSON_TYPE),
    )
    text = sa.cast(outbox.c.data, sa.Text)
    rows = bind.execute(
        sa.select(outbox.c.position, outbox.c.data).where(
            outbox.c.type.like("omniretail.orders.%"),
            sa.or_(*(text.like(f'%"{k}"%') for k in EVENT_PERSONAL_KEYS)),
        )
    ).all()
    for row in rows:
        scrubbed = _without_personal(_json(row.data))
        bind.execute(
            sa.update(outbox).where(outbox.c.position == row.position).values(data=scrubbed)
        )


def _without_personal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_personal(v) for k, v in value.items() if k not in EVENT_PERSONAL_KEYS}
    if isinstance(value, list):
        return [_without_personal(v) for v in value]
    return value


def downgrade() -> None:
    # The ciphertext cannot be turned back into clear columns without the key: the contact
    # email column comes back empty.
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_email", sa.String(length=320), nullable=True))
        batch_op.drop_column("delivery_enc")
        batch_op.drop_column("contact_email_enc")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column(
            "subject", existing_type=sa.Text(), type_=sa.String(length=300), existing_nullable=True
        )
        batch_op.alter_column(
            "recipient",
            existing_type=sa.Text(),
            type_=sa.String(length=320),
            existing_nullable=False,
        )
