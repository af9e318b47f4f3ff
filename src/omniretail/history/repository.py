"""Bulk loading of the prepared history, and the reads over it.

Every table is filled the same way: the rows go into a temporary staging table (PostgreSQL:
``COPY``; SQLite: one ``executemany``), then one ``INSERT ... SELECT ... ON CONFLICT DO
NOTHING`` moves the rows whose natural key is new and resolves ids by joins in the database.
So a repeated import writes nothing, and the row count of that statement is what was created.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    cast,
    func,
    literal,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from omniretail.catalog.models import Product, Sku
from omniretail.customers.models import Customer
from omniretail.db.base import JSONType, UTCDateTime
from omniretail.db.sql import insert_for, is_postgres, rowcount
from omniretail.orders.models import Order, OrderLine
from omniretail.orders.service import OrderKind

products = Product.metadata.tables[Product.__tablename__]
skus = Sku.metadata.tables[Sku.__tablename__]
customers = Customer.metadata.tables[Customer.__tablename__]
orders = Order.metadata.tables[Order.__tablename__]
order_lines = OrderLine.metadata.tables[OrderLine.__tablename__]

COPY_BATCH_ROWS = 100_000
_staging = MetaData()


def _stage_table(name: str, *columns: Column[Any]) -> Table:
    return Table(name, _staging, *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


STAGE_SKUS = _stage_table(
    "history_stage_skus",
    Column("code", String(40)),
    Column("name", String(300)),
    Column("price", Numeric(12, 2)),
    Column("attributes", Text),
)
STAGE_CUSTOMERS = _stage_table(
    "history_stage_customers",
    Column("customer_number", BigInteger),
    Column("country", String(80)),
    Column("created_at", UTCDateTime),
)
STAGE_ORDERS = _stage_table(
    "history_stage_orders",
    Column("position", BigInteger),
    Column("number", String(40)),
    Column("kind", String(20)),
    Column("customer_number", BigInteger),
    Column("country", String(80)),
    Column("total", Numeric(14, 3)),
    Column("placed_at", UTCDateTime),
)
STAGE_LINES = _stage_table(
    "history_stage_lines",
    Column("position", BigInteger),
    Column("order_number", String(40)),
    Column("line_no", Integer),
    Column("sku_code", String(40)),
    Column("charge_code", String(40)),
    Column("description", String(300)),
    Column("quantity", Integer),
    Column("unit_price", Numeric(14, 3)),
)
STAGE_LINKS = _stage_table(
    "history_stage_links",
    Column("order_number", String(40)),
    Column("line_no", Integer),
    Column("target_number", String(40)),
    Column("target_line_no", Integer),
)


def insert_catalog(session: Session, frame: pl.DataFrame, now: datetime) -> tuple[int, int]:
    """Products (one per SKU, same code) and SKUs that do not exist yet; returns both counts."""
    s = _stage(session, STAGE_SKUS, frame)
    new_products = _insert_select(
        session,
        products,
        ["code", "name", "category", "attributes", "created_at"],
        select(
            s.c.code,
            s.c.name,
            literal(None, String),
            literal({}, JSONType),
            literal(now, UTCDateTime),
        ).order_by(s.c.code),
        ["code"],
    )
    attributes = (
        cast(s.c.attributes, postgresql.JSONB)
        if is_postgres(session)
        else type_coerce(s.c.attributes, JSONType)
    )
    new_skus = _insert_select(
        session,
        skus,
        ["code", "product_code", "name", "attributes", "price", "active", "created_at"],
        select(
            s.c.code,
            s.c.code,
            s.c.name,
            attributes,
            s.c.price,
            true(),
            literal(now, UTCDateTime),
        ).order_by(s.c.code),
        ["code"],
    )
    _drop(session, s)
    return new_products, new_skus


def insert_customers(session: Session, frame: pl.DataFrame) -> int:
    s = _stage(session, STAGE_CUSTOMERS, frame)
    created = _insert_select(
        session,
        customers,
        ["customer_number", "country", "created_at"],
        select(s.c.customer_number, s.c.country, s.c.created_at).order_by(s.c.customer_number),
        ["customer_number"],
    )
    _drop(session, s)
    return created


def insert_orders(
    session: Session, frame: pl.DataFrame, *, status: str, channel: str, currency: str
) -> int:
    s = _stage(session, STAGE_ORDERS, frame)
    c = customers.c
    created = _insert_select(
        session,
        orders,
        [
            "number",
            "kind",
            "status",
            "channel_code",
            "customer_id",
            "country",
            "currency",
            "total",
            "placed_at",
        ],
        select(
            s.c.number,
            s.c.kind,
            literal(status, String),
            literal(channel, String),
            c.id,
            s.c.country,
            literal(currency, String),
            s.c.total,
            s.c.placed_at,
        )
        .select_from(s.outerjoin(customers, c.customer_number == s.c.customer_number))
        .order_by(s.c.position),
        ["number"],
    )
    _drop(session, s)
    return created


def insert_order_lines(session: Session, frame: pl.DataFrame) -> int:
    s = _stage(session, STAGE_LINES, frame)
    created = _insert_select(
        session,
        order_lines,
        [
            "order_id",
            "line_no",
            "sku_code",
            "charge_code",
            "description",
            "quantity",
            "unit_price",
        ],
        select(
            orders.c.id,
            s.c.line_no,
            s.c.sku_code,
            s.c.charge_code,
            s.c.description,
            s.c.quantity,
            s.c.unit_price,
        )
        .select_from(s.join(orders, orders.c.number == s.c.order_number))
        .order_by(s.c.position),
        ["order_id", "line_no"],
    )
    _drop(session, s)
    return created


def link_cancellations(session: Session, frame: pl.DataFrame) -> int:
    """Sets ``cancels_line_id`` where it is still empty; returns how many lines it set."""
    s = _stage(session, STAGE_LINKS, frame)
    cancelling = orders.alias("cancelling_order")
    sold = orders.alias("sale_order")
    target = order_lines.alias("sale_line")
    result = session.execute(
        update(order_lines)
        .values(cancels_line_id=target.c.id)
        .where(
            cancelling.c.number == s.c.order_number,
            order_lines.c.order_id == cancelling.c.id,
            order_lines.c.line_no == s.c.line_no,
            sold.c.number == s.c.target_number,
            target.c.order_id == sold.c.id,
            target.c.line_no == s.c.target_line_no,
            order_lines.c.cancels_line_id.is_(None),
        ),
        execution_options={"preserve_rowcount": True},
    )
    _drop(session, s)
    return rowcount(result)


def weekly_demand(session: Session, *, weeks: int) -> list[tuple[str, float]]:
    """Units sold per week per SKU over the last ``weeks`` weeks of sale history: product lines
    with a positive quantity and price (write-offs and free lines are not demand)."""
    o, line = orders.c, order_lines.c
    is_demand = (
        (o.kind == OrderKind.SALE.value)
        & (line.quantity > 0)
        & (line.unit_price > 0)
        & line.sku_code.is_not(None)
    )
    last = session.scalar(select(func.max(o.placed_at)).where(o.kind == OrderKind.SALE.value))
    if last is None:
        return []
    since = last - timedelta(weeks=weeks)
    rows = session.execute(
        select(line.sku_code, func.sum(line.quantity))
        .select_from(order_lines.join(orders, o.id == line.order_id))
        .where(is_demand, o.placed_at > since)
        .group_by(line.sku_code)
        .order_by(line.sku_code)
    )
    return [(str(sku), int(units) / weeks) for sku, units in rows]


def typical_line_quantities(session: Session, skus: list[str]) -> dict[str, int]:
    """The units a sale line of each SKU held most often in the sale history (the smaller on a
    tie): a shopper's usual quantity, which a few bulk orders do not inflate as a mean would."""
    o, line = orders.c, order_lines.c
    rows = session.execute(
        select(line.sku_code, line.quantity, func.count())
        .select_from(order_lines.join(orders, o.id == line.order_id))
        .where(
            o.kind == OrderKind.SALE.value,
            line.quantity > 0,
            line.unit_price > 0,
            line.sku_code.in_(skus),
        )
        .group_by(line.sku_code, line.quantity)
    )
    best: dict[str, tuple[int, int]] = {}
    for sku, quantity, count in rows:
        key = (int(count), -int(quantity))
        if str(sku) not in best or key > best[str(sku)]:
            best[str(sku)] = key
    return {sku: -negated for sku, (_, negated) in best.items()}


def count_rows(session: Session) -> dict[str, int]:
    """Rows in the tables the history fills (for summaries)."""
    return {
        table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for table in (products, skus, customers, orders, order_lines)
    }


# --- staging ---------------------------------------------------------------------------------


def _insert_select(
    session: Session, table: Table, columns: list[str], query: Any, keys: list[str]
) -> int:
    # SQLite needs a WHERE in INSERT ... SELECT ... ON CONFLICT to tell the ON clauses apart.
    insert = insert_for(session)
    stmt = (
        insert(table)
        .from_select(columns, query.where(true()))
        .on_conflict_do_nothing(index_elements=keys)
    )
    result = session.execute(stmt, execution_options={"preserve_rowcount": True})
    return rowcount(result)


def _stage(session: Session, table: Table, frame: pl.DataFrame) -> Table:
    """Creates the temporary table and fills it with ``frame`` (columns in table order)."""
    connection = session.connection()
    table.create(connection)
    columns = [c.name for c in table.columns]
    frame = frame.select(columns)
    driver: Any = connection.connection.driver_connection
    if is_postgres(session):
        with (
            driver.cursor() as cursor,
            cursor.copy(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
            ) as copy,
        ):
            for chunk in _csv_chunks(frame):
                copy.write(chunk)
    else:
        placeholders = ", ".join("?" for _ in columns)
        driver.executemany(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})",
            _sqlite_rows(frame),
        )
    return table


def _drop(session: Session, table: Table) -> None:
    table.drop(session.connection())


def _csv_chunks(frame: pl.DataFrame) -> Iterator[bytes]:
    text = frame.with_columns(
        pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime)
    )
    for start in range(0, text.height, COPY_BATCH_ROWS):
        chunk = text.slice(start, COPY_BATCH_ROWS)
        yield chunk.write_csv(include_header=False, float_scientific=False).encode()


def _sqlite_rows(frame: pl.DataFrame) -> Iterator[tuple[Any, ...]]:
    # The text form SQLAlchemy itself stores for a UTC timestamp on SQLite.
    text = frame.with_columns(
        pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime)
    )
    return text.iter_rows()
