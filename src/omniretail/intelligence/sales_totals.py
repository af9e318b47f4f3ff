"""Net sales per channel and local day, added up by the database for the dashboard's chart:
the revenue of ``weekly_kpis`` (sale lines of products net of the cancellations that reverse
them, each on its sale's day) without loading every order line.

The database sums per UTC hour (Europe/London is a whole number of hours from UTC), and each
hour goes to its local day here: no time-zone database needed in SQL, on SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, String, case, func, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from omniretail.customers.models import Customer
from omniretail.intelligence.repository import ERASED
from omniretail.intelligence.transactions import LOCAL_TIMEZONE
from omniretail.orders.models import Order, OrderKind, OrderLine

LOCAL = ZoneInfo(LOCAL_TIMEZONE)


class UtcHour(FunctionElement[str]):
    """``YYYY-MM-DD HH`` of a UTC timestamp column."""

    type = String()
    inherit_cache = True


@compiles(UtcHour, "sqlite")
def _utc_hour_sqlite(element: UtcHour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 13)"  # stored as UTC text


@compiles(UtcHour, "postgresql")
def _utc_hour_pg(element: UtcHour, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"


def _buyer(order: Any, buyer: Any) -> Any:
    """The buyer as the matching of cancellations reads it: -1 for a guest or an erased
    person."""
    return func.coalesce(case((buyer.status == ERASED, None), else_=order.customer_id), -1)


def daily_sales(engine: Engine, since: date) -> dict[tuple[str, date], Decimal]:
    """(channel, local day) -> net revenue of the sales from ``since``; days without any net
    sale are left out."""
    start = datetime(since.year, since.month, since.day, tzinfo=LOCAL).astimezone(UTC)

    cancel, cancel_order = aliased(OrderLine, name="c_line"), aliased(Order, name="c_order")
    cancel_buyer = aliased(Customer, name="c_buyer")
    # A cancellation that names no line reverses the latest earlier sale of its SKU to the
    # same buyer (as ``product_sales`` matches it).
    earlier, earlier_order = aliased(OrderLine, name="e_line"), aliased(Order, name="e_order")
    earlier_buyer = aliased(Customer, name="e_buyer")
    latest_sale = (
        select(earlier.id)
        .select_from(earlier)
        .join(earlier_order, earlier_order.id == earlier.order_id)
        .outerjoin(earlier_buyer, earlier_buyer.id == earlier_order.customer_id)
        .where(
            *_is_product_sale(earlier, earlier_order),
            earlier.sku_code == cancel.sku_code,
            _buyer(earlier_order, earlier_buyer) == _buyer(cancel_order, cancel_buyer),
            earlier_order.placed_at <= cancel_order.placed_at,
            # An earlier sale than the window's first changes none of its figures.
            earlier_order.placed_at >= start,
        )
        .order_by(earlier_order.placed_at.desc(), earlier.id.desc())
        .limit(1)
        .correlate(cancel, cancel_order, cancel_buyer)
        .scalar_subquery()
    )
    reversed_units = (
        select(
            func.coalesce(cancel.cancels_line_id, latest_sale).label("line_id"),
            (-cancel.quantity).label("units"),
        )
        .select_from(cancel)
        .join(cancel_order, cancel_order.id == cancel.order_id)
        .outerjoin(cancel_buyer, cancel_buyer.id == cancel_order.customer_id)
        .where(
            cancel_order.kind == OrderKind.CANCELLATION.value,
            cancel.sku_code.is_not(None),
            cancel.quantity < 0,
            cancel_order.placed_at >= start,  # a sale is never cancelled before it is made
        )
        .subquery("reversed_units")
    )
    cancelled = (
        select(reversed_units.c.line_id, func.sum(reversed_units.c.units).label("units"))
        .group_by(reversed_units.c.line_id)
        .subquery("cancelled")
    )
    # Each line as sold, less what was reversed of it (never more than it sold).
    sale, sale_order = aliased(OrderLine, name="s_line"), aliased(Order, name="s_order")
    in_window = [*_is_product_sale(sale, sale_order), sale_order.placed_at >= start]
    hour = UtcHour(sale_order.placed_at).label("hour")
    sold = (
        select(
            sale_order.channel_code.label("channel"),
            hour,
            (sale.quantity * sale.unit_price).label("amount"),
        )
        .select_from(sale)
        .join(sale_order, sale_order.id == sale.order_id)
        .where(*in_window)
    )
    units = case((cancelled.c.units < sale.quantity, cancelled.c.units), else_=sale.quantity)
    reversed_ = (
        select(sale_order.channel_code, hour, (-units * sale.unit_price).label("amount"))
        .select_from(cancelled)
        .join(sale, sale.id == cancelled.c.line_id)
        .join(sale_order, sale_order.id == sale.order_id)
        .where(*in_window)
    )
    parts = union_all(sold, reversed_).subquery("parts")
    stmt = select(parts.c.channel, parts.c.hour, func.sum(parts.c.amount)).group_by(
        parts.c.channel, parts.c.hour
    )
    totals: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    with engine.connect() as connection:
        for channel, hour, amount in connection.execute(stmt):
            if amount and amount > 0:
                utc = datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=UTC)
                totals[(channel, utc.astimezone(LOCAL).date())] += Decimal(amount)
    return dict(totals)


def last_sale_day_before(engine: Engine, day: date) -> date | None:
    """The local day of the latest product sale before ``day``."""
    end = datetime(day.year, day.month, day.day, tzinfo=LOCAL).astimezone(UTC)
    line, order = aliased(OrderLine), aliased(Order)
    stmt = (
        select(func.max(order.placed_at))
        .select_from(line)
        .join(order, order.id == line.order_id)
        .where(*_is_product_sale(line, order), order.placed_at < end)
    )
    with engine.connect() as connection:
        latest = connection.execute(stmt).scalar()
    return None if latest is None else latest.astimezone(LOCAL).date()


def _is_product_sale(line: Any, order: Any) -> list[Any]:
    return [
        order.kind == OrderKind.SALE.value,
        line.sku_code.is_not(None),
        line.quantity > 0,
        line.unit_price > 0,
    ]
