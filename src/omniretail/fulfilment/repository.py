"""Queries of the fulfilment state machine over the order tables (owned by ``orders``):
conditional status changes (``WHERE status = :expected``), the pickup sweep and returns; and
the queries of fulfilment's own tables, the return requests.

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
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from omniretail.db.sql import rowcount
from omniretail.fulfilment.models import ReturnRequest, ReturnRequestLine, ReturnRequestStatus
from omniretail.orders.models import Fulfilment, FulfilmentLog, Order, OrderLine
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
    "close_return_request",
    "count_reminder",
    "expired_return_requests",
    "fulfilments_of_order",
    "get_fulfilment",
    "get_order_by_id",
    "get_order_by_number",
    "get_order_by_token",
    "get_return_request",
    "give_back_capacity",
    "has_earlier_order",
    "held_by_return_requests",
    "insert_fulfilments",
    "insert_log",
    "insert_order_lines",
    "insert_return_request",
    "lines_of_order",
    "lock_order",
    "lock_order_by_id",
    "log_of_order",
    "log_row",
    "max_line_no",
    "pickups_due",
    "refund_entries_of_customers",
    "return_request_code_taken",
    "return_request_lines",
    "return_requests_of_order",
    "set_line_status",
    "take_capacity_if_left",
    "transition_fulfilment",
    "update_order",
    "update_order_line",
]

fulfilments = cast(Table, Fulfilment.__table__)
order_lines = cast(Table, OrderLine.__table__)
requests = cast(Table, ReturnRequest.__table__)
request_lines = cast(Table, ReturnRequestLine.__table__)
OPEN = ReturnRequestStatus.OPEN.value


def count_pickup_try(session: Session, fulfilment_id: str, limit: int) -> int | None:
    """Conditional: one more pickup code tried while the fulfilment waits for pickup and
    fewer than ``limit`` were; the new count, or None (the row's lock queues parallel tries,
    so no more than ``limit`` are ever counted)."""
    tries = fulfilments.c.pickup_code_tries
    return session.execute(
        update(fulfilments)
        .where(
            fulfilments.c.id == fulfilment_id,
            fulfilments.c.status == FulfilmentStatus.READY_FOR_PICKUP.value,
            tries < limit,
        )
        .values(pickup_code_tries=tries + 1)
        .returning(tries)
    ).scalar_one_or_none()


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


# --- return requests --------------------------------------------------------------------------


def insert_return_request(
    session: Session, row: dict[str, Any], lines: list[dict[str, Any]]
) -> None:
    session.execute(insert(requests).values(**row))
    session.execute(insert(request_lines), lines)


def return_request_code_taken(session: Session, code: str) -> bool:
    return session.execute(select(requests.c.id).where(requests.c.code == code)).first() is not None


def get_return_request(session: Session, code: str) -> Row[Any] | None:
    return session.execute(select(requests).where(requests.c.code == code)).one_or_none()


def return_requests_of_order(session: Session, order_id: int) -> list[Row[Any]]:
    return list(
        session.execute(
            select(requests)
            .where(requests.c.order_id == order_id)
            .order_by(requests.c.created_at.desc(), requests.c.id)
        )
    )


def return_request_lines(session: Session, request_ids: list[str]) -> list[Row[Any]]:
    if not request_ids:
        return []
    return list(
        session.execute(
            select(request_lines)
            .where(request_lines.c.request_id.in_(request_ids))
            .order_by(request_lines.c.request_id, request_lines.c.line_no)
        )
    )


def held_by_return_requests(session: Session, order_id: int, now: datetime) -> dict[int, int]:
    """Units of each line held by the order's open, unexpired requests (read under the order's
    row lock, so two requests for one line serialise)."""
    rows = session.execute(
        select(request_lines.c.line_no, func.sum(request_lines.c.quantity))
        .select_from(request_lines.join(requests, requests.c.id == request_lines.c.request_id))
        .where(
            requests.c.order_id == order_id,
            requests.c.status == OPEN,
            requests.c.expires_at > now,
        )
        .group_by(request_lines.c.line_no)
    )
    return {int(line_no): int(total) for line_no, total in rows}


def close_return_request(
    session: Session,
    request_id: str,
    *,
    to: ReturnRequestStatus,
    now: datetime,
    values: dict[str, Any] | None = None,
) -> Row[Any] | None:
    """Conditional: an open request is received, cancelled or expired once (``expired`` only
    when its time has come, the others only before)."""
    due = requests.c.expires_at <= now
    return session.execute(
        update(requests)
        .where(
            requests.c.id == request_id,
            requests.c.status == OPEN,
            due if to is ReturnRequestStatus.EXPIRED else ~due,
        )
        .values(status=to.value, updated_at=now, **(values or {}))
        .returning(*requests.c)
    ).one_or_none()


def expired_return_requests(session: Session, now: datetime, limit: int) -> list[Row[Any]]:
    return list(
        session.execute(
            select(requests)
            .where(requests.c.status == OPEN, requests.c.expires_at <= now)
            .order_by(requests.c.expires_at, requests.c.id)
            .limit(limit)
        )
    )


def has_earlier_order(
    session: Session, customer_id: int, placed_at: datetime, order_id: int
) -> bool:
    """Whether the customer placed another order before this one (the sale's "first order")."""
    orders = cast(Table, Order.__table__)
    stmt = (
        select(orders.c.id)
        .where(
            orders.c.customer_id == customer_id,
            orders.c.id != order_id,
            orders.c.placed_at < placed_at,
        )
        .limit(1)
    )
    return session.scalar(stmt) is not None


def refund_entries_of_customers(
    session: Session, customer_ids: list[int]
) -> list[tuple[Order, FulfilmentLog]]:
    """The ``refund`` and ``returned`` log entries of these customers' orders, oldest first."""
    if not customer_ids:
        return []
    rows = session.execute(
        select(Order, FulfilmentLog)
        .join(FulfilmentLog, FulfilmentLog.order_id == Order.id)
        .where(
            Order.customer_id.in_(customer_ids),
            FulfilmentLog.action.in_(("refund", "returned")),
        )
        .order_by(FulfilmentLog.id)
    )
    return [(order, entry) for order, entry in rows]
