"""The only place that builds queries over the order tables (carts, orders, fulfilments,
prices, capacity, routing rules).

Status changes are conditional UPDATEs (``WHERE status = :expected``) and capacity is a
conditional increment, so two concurrent attempts never both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Row,
    String,
    Table,
    Text,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from omniretail.catalog.models import Sku
from omniretail.db.batch import insert_rows
from omniretail.db.sql import matches, statement
from omniretail.kernel.ids import token_digest
from omniretail.orders.models import Fulfilment, FulfilmentLog, FulfilmentStatus, Order, OrderLine

orders = cast(Table, Order.__table__)
order_lines = cast(Table, OrderLine.__table__)
fulfilments = cast(Table, Fulfilment.__table__)
skus = cast(Table, Sku.__table__)


def _insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """One INSERT statement, compiled once whatever the number of rows (``db.batch``)."""
    insert_rows(session, table, rows)


def insert_order(session: Session, values: dict[str, Any]) -> int:
    return int(session.execute(insert(orders).returning(orders.c.id), values).scalar_one())


def insert_order_closing(
    session: Session, values: dict[str, Any], close: Any, close_params: dict[str, Any]
) -> int | None:
    """The order, inserted only if ``close`` (an UPDATE with RETURNING: the cart's close)
    changes a row; its id, or None (nothing written). One statement on PostgreSQL (a
    data-modifying CTE), two on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        if session.execute(close, close_params).first() is None:
            return None
        return insert_order(session, values)
    statement = _order_after(close, tuple(values))
    # prefixed names: a parameter named like a column of the close's table would be set by it
    params = {**{f"o_{k}": v for k, v in values.items()}, **close_params}
    found = session.execute(statement, params).scalar_one_or_none()
    return None if found is None else int(found)


@cache
def _order_after(close: Any, columns: tuple[str, ...]) -> Any:
    # Built once per statement and column list: INSERT ... SELECT <the values> FROM closed
    closed = close.cte("closed")
    chosen = select(*(bindparam(f"o_{c}", type_=orders.c[c].type) for c in columns)).select_from(
        closed
    )
    return (
        insert(orders)
        .from_select(list(columns), chosen, include_defaults=False)
        .returning(orders.c.id)
    )


def insert_fulfilments(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    _insert_rows(session, fulfilments, rows)


def insert_order_lines(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    _insert_rows(session, order_lines, rows)


def get_order_by_number(session: Session, number: str) -> Row[Any] | None:
    return session.execute(select(orders).where(orders.c.number == number)).one_or_none()


def get_orders_by_numbers(session: Session, numbers: Sequence[str]) -> list[Row[Any]]:
    """Whole order rows (``orders_by_numbers`` reads a few columns)."""
    if not numbers:
        return []
    read = statement(session, "orders.by_numbers", _by_numbers)
    return list(session.execute(read, {"numbers": list(numbers)}))


def _by_numbers(postgres: bool) -> Any:
    return select(orders).where(matches(orders.c.number, "numbers", postgres, String()))


def get_order_by_token(session: Session, token: str) -> Row[Any] | None:
    """The order whose tracking link holds ``token``, found by its digest (orders.contact)."""
    found = session.execute(_BY_TRACKING_DIGEST, {"digest": token_digest(token)})
    return found.one_or_none()


# Built once: every tracking page and kerbside arrival runs it.
_BY_TRACKING_DIGEST = select(orders).where(
    orders.c.tracking_token_digest == bindparam("digest", type_=String)
)


def get_order_by_id(session: Session, order_id: int) -> Row[Any] | None:
    return session.execute(select(orders).where(orders.c.id == order_id)).one_or_none()


def lock_order(session: Session, number: str) -> Row[Any] | None:
    """SELECT ... FOR UPDATE: fulfilment changes of one order serialise on the order row, so
    the order's derived status is never computed from a stale set of fulfilments."""
    return session.execute(
        select(orders).where(orders.c.number == number).with_for_update()
    ).one_or_none()


def lock_order_by_id(session: Session, order_id: int) -> Row[Any] | None:
    return session.execute(
        select(orders).where(orders.c.id == order_id).with_for_update()
    ).one_or_none()


def update_order(session: Session, order_id: int, values: dict[str, Any]) -> None:
    session.execute(update(orders).where(orders.c.id == order_id).values(**values))


def add_to_order_amounts(
    session: Session, order_id: int, *, captured: Decimal = Decimal(0), voided: Decimal = Decimal(0)
) -> None:
    session.execute(
        update(orders)
        .where(orders.c.id == order_id)
        .values(
            amount_captured=func.coalesce(orders.c.amount_captured, 0) + captured,
            amount_voided=func.coalesce(orders.c.amount_voided, 0) + voided,
        )
    )


def list_orders_of_customer(session: Session, customer_id: int, limit: int) -> list[Row[Any]]:
    return list(
        session.execute(
            select(orders)
            .where(orders.c.customer_id == customer_id)
            .order_by(orders.c.placed_at.desc(), orders.c.id.desc())
            .limit(limit)
        )
    )


def lines_of_order(session: Session, order_id: int) -> list[Row[Any]]:
    return list(
        session.execute(
            select(order_lines, skus.c.name.label("sku_name"))
            .select_from(order_lines.outerjoin(skus, skus.c.code == order_lines.c.sku_code))
            .where(order_lines.c.order_id == order_id)
            .order_by(order_lines.c.line_no)
        )
    )


def lines_of_orders(session: Session, order_ids: Sequence[int]) -> list[Row[Any]]:
    """The lines of several orders in one read, each order's by line number."""
    if not order_ids:
        return []
    read = statement(session, "orders.lines_of_orders", _lines_of_orders)
    return list(session.execute(read, {"ids": list(order_ids)}))


def _lines_of_orders(postgres: bool) -> Any:
    return (
        select(order_lines, skus.c.name.label("sku_name"))
        .select_from(order_lines.outerjoin(skus, skus.c.code == order_lines.c.sku_code))
        .where(matches(order_lines.c.order_id, "ids", postgres))
        .order_by(order_lines.c.order_id, order_lines.c.line_no)
    )


def fulfilments_of_order(session: Session, order_id: int) -> list[Row[Any]]:
    return list(
        session.execute(
            select(fulfilments)
            .where(fulfilments.c.order_id == order_id)
            .order_by(fulfilments.c.created_at, fulfilments.c.id)
        )
    )


def fulfilments_of_orders(session: Session, order_ids: Sequence[int]) -> list[Row[Any]]:
    """The fulfilments of several orders in one read, each order's in creation order."""
    if not order_ids:
        return []
    read = statement(session, "orders.fulfilments_of_orders", _fulfilments_of_orders)
    return list(session.execute(read, {"ids": list(order_ids)}))


def _fulfilments_of_orders(postgres: bool) -> Any:
    return (
        select(fulfilments)
        .where(matches(fulfilments.c.order_id, "ids", postgres))
        .order_by(fulfilments.c.order_id, fulfilments.c.created_at, fulfilments.c.id)
    )


def get_fulfilment(session: Session, fulfilment_id: str) -> Row[Any] | None:
    return session.execute(
        select(fulfilments).where(fulfilments.c.id == fulfilment_id)
    ).one_or_none()


def line_sites_of_order(session: Session, number: str) -> list[Row[Any]]:
    """Each line of the order with the locations of its fulfilment (one row with null line
    columns for an order without lines; no rows for an unknown order)."""
    return list(
        session.execute(
            select(
                order_lines.c.line_no,
                order_lines.c.status,
                fulfilments.c.location_code,
                fulfilments.c.pickup_location_code,
            )
            .select_from(
                orders.outerjoin(order_lines, order_lines.c.order_id == orders.c.id).outerjoin(
                    fulfilments, fulfilments.c.id == order_lines.c.fulfilment_id
                )
            )
            .where(orders.c.number == number)
            .order_by(order_lines.c.line_no)
        )
    )


def set_line_status(session: Session, line_ids: Sequence[int], status: str) -> None:
    if line_ids:
        session.execute(
            update(order_lines).where(order_lines.c.id.in_(list(line_ids))).values(status=status)
        )


def update_order_line(session: Session, line_id: int, values: dict[str, Any]) -> None:
    session.execute(update(order_lines).where(order_lines.c.id == line_id).values(**values))


def max_line_no(session: Session, order_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.max(order_lines.c.line_no), 0)).where(
                order_lines.c.order_id == order_id
            )
        )
        or 0
    )


def log_row(
    now: datetime,
    order_id: int,
    fulfilment_id: str | None,
    action: str,
    actor: str,
    detail: dict[str, Any],
    *,
    from_status: str | None = None,
    to_status: str | None = None,
) -> dict[str, Any]:
    """One ``fulfilment_log`` row for ``insert_log``."""
    return {
        "order_id": order_id,
        "fulfilment_id": fulfilment_id,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "actor": actor,
        "detail": detail,
        "created_at": now,
    }


def insert_log(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    _insert_rows(session, cast(Table, FulfilmentLog.__table__), rows)


def log_of_order(session: Session, order_id: int) -> list[FulfilmentLog]:
    return list(
        session.scalars(
            select(FulfilmentLog)
            .where(FulfilmentLog.order_id == order_id)
            .order_by(FulfilmentLog.id)
        )
    )


def logs_of_orders(session: Session, order_ids: Sequence[int]) -> list[FulfilmentLog]:
    if not order_ids:
        return []
    return list(
        session.scalars(
            select(FulfilmentLog)
            .where(FulfilmentLog.order_id.in_(order_ids))
            .order_by(FulfilmentLog.order_id, FulfilmentLog.id)
        )
    )


def orders_with_fulfilments_at(
    session: Session, location: str, statuses: Sequence[str], limit: int
) -> list[Row[Any]]:
    """Orders with a fulfilment in one of ``statuses`` that ``location`` sends or hands over,
    the earliest promise first."""
    first_promise = func.min(fulfilments.c.promised_date).label("first_promise")
    at_location = (
        select(fulfilments.c.order_id, first_promise)
        .where(
            (fulfilments.c.location_code == location)
            | (fulfilments.c.pickup_location_code == location),
            fulfilments.c.status.in_(list(statuses)),
        )
        .group_by(fulfilments.c.order_id)
        .subquery()
    )
    return list(
        session.execute(
            select(orders)
            .join(at_location, at_location.c.order_id == orders.c.id)
            .order_by(at_location.c.first_promise, orders.c.id)
            .limit(limit)
        )
    )


def recent_orders(
    session: Session, *, status: str | None, channel: str | None, limit: int, offset: int
) -> list[Row[Any]]:
    stmt = select(orders).order_by(orders.c.placed_at.desc(), orders.c.id.desc())
    if status:
        stmt = stmt.where(orders.c.status == status)
    if channel:
        stmt = stmt.where(orders.c.channel_code == channel)
    return list(session.execute(stmt.limit(limit).offset(offset)))


def count_orders_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(orders.c.status, func.count()).group_by(orders.c.status))
    return {str(r[0]): int(r[1]) for r in rows}


def orders_with_overdue_pickups(
    session: Session, now: datetime, today: date, limit: int
) -> list[Row[Any]]:
    """Orders waiting at a counter past their collect-by time, or whose pickup was promised
    for an earlier day and is not ready yet."""
    pickup_methods = ["pickup_in_store", "ship_to_store", "locker", "curbside"]
    late = (
        select(fulfilments.c.order_id)
        .where(
            (
                (fulfilments.c.status == FulfilmentStatus.READY_FOR_PICKUP.value)
                & (fulfilments.c.collect_by < now)
            )
            | (
                fulfilments.c.method.in_(pickup_methods)
                & fulfilments.c.status.in_(["created", "accepted", "picking", "packed", "shipped"])
                & (fulfilments.c.promised_date < today)
            )
        )
        .distinct()
        .subquery()
    )
    return list(
        session.execute(
            select(orders)
            .join(late, late.c.order_id == orders.c.id)
            .order_by(orders.c.placed_at, orders.c.id)
            .limit(limit)
        )
    )


# --- promotion and coupon uses (``orders.adjusted``)


def _as_text(column: Any) -> Any:
    return sql_cast(column, Text)


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def lines_adjusted_by(
    session: Session, source: str, since: datetime | None, *, prefix: bool = False
) -> list[Row[Any]]:
    """Sale lines whose pricing breakdown names ``source`` (``"promotion:SPRING"``; with
    ``prefix``, any source starting so, ``"promotion:"``), with their order. The breakdown is
    JSON (JSONB on PostgreSQL): its text holds the source as a quoted string on both
    databases, so one portable LIKE finds it; ``since`` (the promotion's creation) bounds the
    orders. A text scan: PostgreSQL, which cannot estimate the LIKE, reads every order line
    whatever ``since`` (docs/performance.md, "HQ reads that scanned whole tables")."""
    pattern = '%"' + _like_literal(source) + ("%" if prefix else '"%')
    stmt = (
        select(
            orders.c.number,
            orders.c.currency,
            orders.c.total,
            orders.c.status,
            orders.c.placed_at,
            order_lines.c.sku_code,
            order_lines.c.pricing,
        )
        .join(order_lines, order_lines.c.order_id == orders.c.id)
        .where(
            orders.c.kind == "sale",
            order_lines.c.pricing.is_not(None),
            _as_text(order_lines.c.pricing).like(pattern, escape="\\"),
        )
        .order_by(orders.c.placed_at.desc(), orders.c.number, order_lines.c.line_no)
    )
    if since is not None:
        stmt = stmt.where(orders.c.placed_at >= since)
    return list(session.execute(stmt))


def orders_by_numbers(session: Session, numbers: Sequence[str]) -> list[Row[Any]]:
    """The orders named, each with ``units`` (its item lines' units, cancelled lines left out)
    and ``units_returned`` (of those, how many came back). The units are summed over the
    named orders' lines only (found through the unique (order_id, line_no) index), not over
    every order line."""
    if not numbers:
        return []
    wanted = sorted(set(numbers))
    kept = (
        order_lines.c.order_id.in_(select(orders.c.id).where(orders.c.number.in_(wanted)))
        & order_lines.c.sku_code.is_not(None)
        & (order_lines.c.status.is_(None) | (order_lines.c.status != "cancelled"))
    )
    units = (
        select(
            order_lines.c.order_id,
            func.sum(order_lines.c.quantity).label("units"),
            func.sum(order_lines.c.quantity_returned).label("units_returned"),
        )
        .where(kept)
        .group_by(order_lines.c.order_id)
        .subquery()
    )
    return list(
        session.execute(
            select(
                orders.c.number,
                orders.c.currency,
                orders.c.total,
                orders.c.status,
                orders.c.placed_at,
                func.coalesce(units.c.units, 0).label("units"),
                func.coalesce(units.c.units_returned, 0).label("units_returned"),
            )
            .select_from(orders.outerjoin(units, units.c.order_id == orders.c.id))
            .where(orders.c.number.in_(wanted))
        )
    )


def most_bought_skus(session: Session, customer_id: int, limit: int) -> list[Row[Any]]:
    """(sku_code, name, quantity) the customer bought most, net of returns, on every channel
    (web, app and the till); cancelled lines and charges left out; ties by SKU code."""
    quantity = func.sum(order_lines.c.quantity - order_lines.c.quantity_returned)
    return list(
        session.execute(
            select(order_lines.c.sku_code, skus.c.name, quantity.label("quantity"))
            .select_from(
                order_lines.join(orders, orders.c.id == order_lines.c.order_id).join(
                    skus, skus.c.code == order_lines.c.sku_code
                )
            )
            .where(
                orders.c.customer_id == customer_id,
                orders.c.kind == "sale",
                order_lines.c.sku_code.is_not(None),
                or_(order_lines.c.status.is_(None), order_lines.c.status != "cancelled"),
            )
            .group_by(order_lines.c.sku_code, skus.c.name)
            .having(quantity > 0)
            .order_by(quantity.desc(), order_lines.c.sku_code)
            .limit(limit)
        )
    )
