"""Queries of the fulfilment state machine over the order tables (owned by ``orders``):
conditional status changes (``WHERE status = :expected``), the pickup sweep and returns.

The order records the use cases also need come from ``orders.service``, capacity from
``routing.service`` and prices from ``carts.service``; they are re-exported here so the use
cases read one ``repo``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Row,
    Table,
    select,
    update,
)
from sqlalchemy.orm import Session

from omniretail.db.sql import rowcount
from omniretail.orders.models import Fulfilment, OrderLine
from omniretail.orders.service import (
    FulfilmentStatus,
    add_to_order_amounts,
    fulfilments_of_order,
    get_fulfilment,
    get_order_by_id,
    get_order_by_number,
    get_order_by_token,
    insert_fulfilments,
    insert_log,
    insert_order_lines,
    lines_of_order,
    lock_order,
    lock_order_by_id,
    log_of_order,
    log_row,
    max_line_no,
    set_line_status,
    update_order,
    update_order_line,
)
from omniretail.routing.service import give_back_capacity, take_capacity_if_left

__all__ = [
    "add_returned_if_within",
    "add_to_order_amounts",
    "count_reminder",
    "fulfilments_of_order",
    "get_fulfilment",
    "get_order_by_id",
    "get_order_by_number",
    "get_order_by_token",
    "give_back_capacity",
    "insert_fulfilments",
    "insert_log",
    "insert_order_lines",
    "lines_of_order",
    "lock_order",
    "lock_order_by_id",
    "log_of_order",
    "log_row",
    "max_line_no",
    "pickups_due",
    "set_line_status",
    "take_capacity_if_left",
    "transition_fulfilment",
    "update_order",
    "update_order_line",
]

fulfilments = cast(Table, Fulfilment.__table__)
order_lines = cast(Table, OrderLine.__table__)


def transition_fulfilment(
    session: Session,
    fulfilment_id: str,
    *,
    expected: FulfilmentStatus,
    to: FulfilmentStatus,
    values: dict[str, Any],
) -> Row[Any] | None:
    """UPDATE ... WHERE status = :expected RETURNING: exactly one of two racing changes wins."""
    return session.execute(
        update(fulfilments)
        .where(fulfilments.c.id == fulfilment_id, fulfilments.c.status == expected.value)
        .values(status=to.value, **values)
        .returning(*fulfilments.c)
    ).one_or_none()


def add_returned_if_within(session: Session, line_id: int, quantity: int) -> bool:
    """Conditional: ``quantity_returned`` grows only while it stays within the quantity."""
    result = session.execute(
        update(order_lines)
        .where(
            order_lines.c.id == line_id,
            order_lines.c.quantity_returned + quantity <= order_lines.c.quantity,
        )
        .values(quantity_returned=order_lines.c.quantity_returned + quantity)
    )
    return bool(rowcount(result))


def pickups_due(session: Session, horizon: datetime, limit: int) -> list[Row[Any]]:
    """Fulfilments waiting for pickup whose deadline is before ``horizon`` (reminder or
    expiry candidates), oldest deadline first."""
    return list(
        session.execute(
            select(fulfilments)
            .where(
                fulfilments.c.status == FulfilmentStatus.READY_FOR_PICKUP.value,
                fulfilments.c.collect_by <= horizon,
            )
            .order_by(fulfilments.c.collect_by, fulfilments.c.id)
            .limit(limit)
        )
    )


def count_reminder(
    session: Session, fulfilment_id: str, sent: int, now_sent: int, now: datetime
) -> bool:
    """Conditional: a reminder is counted (and so sent) once even if two sweeps race."""
    result = session.execute(
        update(fulfilments)
        .where(
            fulfilments.c.id == fulfilment_id,
            fulfilments.c.reminders_sent == sent,
            fulfilments.c.status == FulfilmentStatus.READY_FOR_PICKUP.value,
        )
        .values(reminders_sent=now_sent, updated_at=now)
    )
    return bool(rowcount(result))
