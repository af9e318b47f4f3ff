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
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from omniretail.catalog.models import Sku
from omniretail.orders.models import (
    CapacityUsage,
    Cart,
    CartLine,
    CartStatus,
    Fulfilment,
    FulfilmentLog,
    FulfilmentStatus,
    Order,
    OrderLine,
    Price,
    RoutingRuleSet,
)

carts = cast(Table, Cart.__table__)
cart_lines = cast(Table, CartLine.__table__)
prices = cast(Table, Price.__table__)
orders = cast(Table, Order.__table__)
order_lines = cast(Table, OrderLine.__table__)
fulfilments = cast(Table, Fulfilment.__table__)
capacity = cast(Table, CapacityUsage.__table__)
skus = cast(Table, Sku.__table__)


def _dialect_insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# --- carts -----------------------------------------------------------------------------------


# Inserts pass their values as parameters (not ``.values(...)``): the statement is then the
# same object shape every call and SQLAlchemy reuses its compiled form.


def _insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """One INSERT statement: parameters for one row, a multi-row VALUES for several (not an
    executemany, which would send one statement per row)."""
    if len(rows) == 1:
        session.execute(insert(table), rows[0])
    elif rows:
        session.execute(insert(table).values(list(rows)))


def cart_owner(session: Session, token: str) -> Row[Any] | None:
    """The customer a cart belongs to (``customer_id`` null: an anonymous cart)."""
    return session.execute(select(carts.c.customer_id).where(carts.c.token == token)).one_or_none()


def insert_cart(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(carts), values)


def active_cart_of_customer(session: Session, customer_id: int) -> Row[Any] | None:
    return session.execute(
        select(carts).where(
            carts.c.customer_id == customer_id, carts.c.status == CartStatus.ACTIVE.value
        )
    ).one_or_none()


def cart_with_lines(session: Session, token: str, price_channel: str | None) -> list[Row[Any]]:
    """The cart and its lines with the SKU name and both prices, in one statement.

    One row per line (or one row with NULL line columns for an empty cart); the price list
    joins on ``price_channel`` (the cart's own channel when None)."""
    params = {"token": token, "price_channel": price_channel}
    return list(session.execute(_cart_with_lines_statement(), params))


@cache
def _cart_with_lines_statement() -> Select[Any]:
    # Built once: the hottest read of the cart flow (every change and checkout).
    channel = func.coalesce(bindparam("price_channel", type_=String), carts.c.channel_code)
    return (
        select(
            carts.c.id.label("cart_id"),
            carts.c.token,
            carts.c.customer_id,
            carts.c.status,
            carts.c.channel_code.label("cart_channel"),
            carts.c.version,
            carts.c.merged_into,
            carts.c.order_number,
            carts.c.created_at,
            carts.c.updated_at,
            cart_lines.c.id.label("line_id"),
            cart_lines.c.sku_code,
            cart_lines.c.quantity,
            cart_lines.c.location_code,
            cart_lines.c.hold_id,
            cart_lines.c.hold_expires_at,
            cart_lines.c.channel_code.label("line_channel"),
            skus.c.name.label("sku_name"),
            skus.c.price.label("list_price"),
            skus.c.active.label("sku_active"),
            prices.c.price.label("channel_price"),
        )
        .select_from(
            carts.outerjoin(cart_lines, cart_lines.c.cart_id == carts.c.id)
            .outerjoin(skus, skus.c.code == cart_lines.c.sku_code)
            .outerjoin(
                prices,
                and_(prices.c.sku_code == cart_lines.c.sku_code, prices.c.channel_code == channel),
            )
        )
        .where(carts.c.token == bindparam("token", type_=String))
        .order_by(cart_lines.c.created_at, cart_lines.c.sku_code)
    )


def touch_active_cart(
    session: Session, cart_id: str, channel: str, now: datetime
) -> Row[Any] | None:
    """Bumps the version of an active cart (and takes its row lock until commit), so that a
    checkout that read an older version refuses instead of ordering a changed cart."""
    return session.execute(
        update(carts)
        .where(carts.c.id == cart_id, carts.c.status == CartStatus.ACTIVE.value)
        .values(version=carts.c.version + 1, channel_code=channel, updated_at=now)
        .returning(carts.c.id, carts.c.version, carts.c.customer_id)
    ).one_or_none()


def close_cart(
    session: Session,
    cart_id: str,
    *,
    expected_version: int | None,
    status: CartStatus,
    now: datetime,
    order_number: str | None = None,
    merged_into: str | None = None,
) -> bool:
    stmt = (
        update(carts)
        .where(carts.c.id == cart_id, carts.c.status == CartStatus.ACTIVE.value)
        .values(
            status=status.value,
            order_number=order_number,
            merged_into=merged_into,
            updated_at=now,
            version=carts.c.version + 1,
        )
    )
    if expected_version is not None:
        stmt = stmt.where(carts.c.version == expected_version)
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def set_cart_customer(session: Session, cart_id: str, customer_id: int, now: datetime) -> None:
    session.execute(
        update(carts)
        .where(carts.c.id == cart_id)
        .values(customer_id=customer_id, updated_at=now, version=carts.c.version + 1)
    )


def insert_cart_line(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(cart_lines), values)


def update_cart_line(session: Session, line_id: str, values: dict[str, Any]) -> None:
    session.execute(update(cart_lines).where(cart_lines.c.id == line_id).values(**values))


def delete_cart_line(session: Session, line_id: str) -> None:
    session.execute(delete(cart_lines).where(cart_lines.c.id == line_id))


# --- prices ----------------------------------------------------------------------------------


def upsert_price(session: Session, sku: str, channel: str, price: Decimal, now: datetime) -> None:
    stmt = (
        _dialect_insert(session)(prices)
        .values(sku_code=sku, channel_code=channel, price=price, updated_at=now)
        .on_conflict_do_update(
            index_elements=[prices.c.sku_code, prices.c.channel_code],
            set_={"price": price, "updated_at": now},
        )
    )
    session.execute(stmt)


def delete_price(session: Session, sku: str, channel: str) -> bool:
    result = session.execute(
        delete(prices).where(prices.c.sku_code == sku, prices.c.channel_code == channel)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def prices_for(
    session: Session, sku_codes: Sequence[str], channel: str
) -> dict[str, tuple[str, Decimal | None, Decimal | None, bool]]:
    """sku -> (name, list price, channel price, active) for the SKUs that exist."""
    stmt = (
        select(skus.c.code, skus.c.name, skus.c.price, prices.c.price, skus.c.active)
        .select_from(
            skus.outerjoin(
                prices, and_(prices.c.sku_code == skus.c.code, prices.c.channel_code == channel)
            )
        )
        .where(skus.c.code.in_(list(sku_codes)))
    )
    return {r[0]: (r[1], r[2], r[3], bool(r[4])) for r in session.execute(stmt)}


def list_prices(session: Session, sku: str | None, channel: str | None) -> list[Row[Any]]:
    stmt = select(prices).order_by(prices.c.sku_code, prices.c.channel_code).limit(1000)
    if sku:
        stmt = stmt.where(prices.c.sku_code == sku)
    if channel:
        stmt = stmt.where(prices.c.channel_code == channel)
    return list(session.execute(stmt))


# --- orders ----------------------------------------------------------------------------------


def insert_order(session: Session, values: dict[str, Any]) -> int:
    return int(session.execute(insert(orders).returning(orders.c.id), values).scalar_one())


def insert_fulfilments(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    _insert_rows(session, fulfilments, rows)


def insert_order_lines(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    _insert_rows(session, order_lines, rows)


def get_order_by_number(session: Session, number: str) -> Row[Any] | None:
    return session.execute(select(orders).where(orders.c.number == number)).one_or_none()


def get_order_by_token(session: Session, token: str) -> Row[Any] | None:
    return session.execute(select(orders).where(orders.c.tracking_token == token)).one_or_none()


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


def fulfilments_of_order(session: Session, order_id: int) -> list[Row[Any]]:
    return list(
        session.execute(
            select(fulfilments)
            .where(fulfilments.c.order_id == order_id)
            .order_by(fulfilments.c.created_at, fulfilments.c.id)
        )
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


def set_line_status(session: Session, line_ids: Sequence[int], status: str) -> None:
    if line_ids:
        session.execute(
            update(order_lines).where(order_lines.c.id.in_(list(line_ids))).values(status=status)
        )


def update_order_line(session: Session, line_id: int, values: dict[str, Any]) -> None:
    session.execute(update(order_lines).where(order_lines.c.id == line_id).values(**values))


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
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- capacity --------------------------------------------------------------------------------


def take_capacity_if_left(session: Session, location: str, day: date, limit: int) -> bool:
    """One conditional upsert: +1 on the location's day only while ``used < limit``."""
    stmt = (
        _dialect_insert(session)(capacity)
        .values(location_code=location, day=day, used=1)
        .on_conflict_do_update(
            index_elements=[capacity.c.location_code, capacity.c.day],
            set_={"used": capacity.c.used + 1},
            where=capacity.c.used < limit,
        )
        .returning(capacity.c.used)
    )
    return session.execute(stmt).one_or_none() is not None


def give_back_capacity(session: Session, location: str, day: date) -> None:
    session.execute(
        update(capacity)
        .where(capacity.c.location_code == location, capacity.c.day == day, capacity.c.used > 0)
        .values(used=capacity.c.used - 1)
    )


def capacity_used(session: Session, locations: Sequence[str], day: date) -> dict[str, int]:
    if not locations:
        return {}
    rows = session.execute(
        select(capacity.c.location_code, capacity.c.used).where(
            capacity.c.location_code.in_(list(locations)), capacity.c.day == day
        )
    )
    return {r[0]: int(r[1]) for r in rows}


# --- routing rules ---------------------------------------------------------------------------


def latest_rule_set(session: Session) -> RoutingRuleSet | None:
    return session.scalars(
        select(RoutingRuleSet).order_by(RoutingRuleSet.version.desc()).limit(1)
    ).first()


def get_rule_set(session: Session, version: int) -> RoutingRuleSet | None:
    return session.get(RoutingRuleSet, version)


def list_rule_sets(session: Session, limit: int) -> list[RoutingRuleSet]:
    return list(
        session.scalars(select(RoutingRuleSet).order_by(RoutingRuleSet.version.desc()).limit(limit))
    )


def insert_rule_set(session: Session, values: dict[str, Any]) -> int:
    """The next version number; a concurrent save with the same number fails on the primary
    key and is retried by the caller's client."""
    version = (
        int(session.scalar(select(func.coalesce(func.max(RoutingRuleSet.version), 0))) or 0) + 1
    )
    session.execute(insert(cast(Table, RoutingRuleSet.__table__)).values(version=version, **values))
    return version


# --- console reads: work queues and overviews --------------------------------------------------


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
