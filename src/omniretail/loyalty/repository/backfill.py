"""Reads of the order history for the backfill."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from omniretail.loyalty.repository.programmes import lots

# --- order history (read-only) ---------------------------------------------------------------
# The backfill reads the imported order history directly: loyalty sits above orders, and the
# orders service offers no bulk history listing yet. Read-only, never written here.


def history_orders(session: Session) -> list[Any]:
    from omniretail.orders.models import Order

    return list(
        session.execute(
            select(
                Order.id,
                Order.number,
                Order.kind,
                Order.channel_code,
                Order.customer_id,
                Order.total,
                Order.placed_at,
            )
            .where(Order.customer_id.is_not(None))
            .order_by(Order.placed_at, Order.id)
        )
    )


def history_lines(session: Session) -> list[Any]:
    from omniretail.catalog.models import Product, Sku
    from omniretail.orders.models import Order, OrderLine

    return list(
        session.execute(
            select(
                OrderLine.order_id,
                OrderLine.id,
                OrderLine.quantity,
                OrderLine.unit_price,
                OrderLine.cancels_line_id,
                Product.category,
            )
            .join(Order, Order.id == OrderLine.order_id)
            .outerjoin(Sku, Sku.code == OrderLine.sku_code)
            .outerjoin(Product, Product.code == Sku.product_code)
            .where(Order.customer_id.is_not(None))
        )
    )


def lot_ids_by_key(session: Session, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(keys), 5000):
        chunk = keys[start : start + 5000]
        rows = session.execute(
            select(lots.c.source_key, lots.c.id).where(lots.c.source_key.in_(chunk))
        )
        found.update({r[0]: int(r[1]) for r in rows})
    return found
