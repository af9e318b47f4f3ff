"""The canonical transactions frame every model reads, and the demand derived from it.

One row per order line, as the platform stores it (``repository.load_transactions``) or, for
development and evaluation, as read straight from the Online Retail II parquet file with the
importer's normalisation (``read_source_file``). Both return exactly ``TRANSACTION_SCHEMA``.

Cancellations net out of demand *at the sale they reverse*: a cancelled bulk order leaves no
trace in the week it was placed, and a cancellation never makes a later week negative.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from omniretail.catalog.service import PRODUCT_CODE_PATTERN

LOCAL_TIMEZONE = "Europe/London"

TRANSACTION_SCHEMA: dict[str, pl.DataType] = {
    "line_id": pl.Int64(),
    "order_number": pl.String(),
    "kind": pl.String(),
    "channel": pl.String(),
    "customer_id": pl.Int64(),
    "customer_number": pl.Int64(),
    "country": pl.String(),
    "placed_at": pl.Datetime("us", "UTC"),
    "sku": pl.String(),
    "charge_code": pl.String(),
    "description": pl.String(),
    "quantity": pl.Int64(),
    "unit_price": pl.Float64(),
    "cancels_line_id": pl.Int64(),
}


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Casts a frame to the canonical schema (column order and types) and adds ``day``."""
    placed = pl.col("placed_at").cast(pl.Datetime("us", frame.schema["placed_at"].time_zone))  # type: ignore[attr-defined]
    frame = frame.with_columns(
        placed.dt.replace_time_zone("UTC") if _naive(frame) else placed.dt.convert_time_zone("UTC")
    )
    frame = frame.select([pl.col(name).cast(dtype) for name, dtype in TRANSACTION_SCHEMA.items()])
    return frame.with_columns(
        day=pl.col("placed_at").dt.convert_time_zone(LOCAL_TIMEZONE).dt.date()
    ).sort("placed_at", "line_id")


def _naive(frame: pl.DataFrame) -> bool:
    dtype = frame.schema["placed_at"]
    return isinstance(dtype, pl.Datetime) and dtype.time_zone is None


def read_source_file(path: Path) -> pl.DataFrame:
    """Reads the Online Retail II log (parquet) with the importer's normalisation.

    For development and evaluation only; production reads the platform's tables."""
    raw = pl.read_parquet(path)
    code = pl.col("StockCode").str.strip_chars().str.to_uppercase()
    is_product = code.str.contains(PRODUCT_CODE_PATTERN)
    invoice = pl.col("Invoice").str.strip_chars()
    frame = raw.with_row_index("line_id", offset=1).select(
        pl.col("line_id"),
        invoice.alias("order_number"),
        pl.when(invoice.str.starts_with("C"))
        .then(pl.lit("cancellation"))
        .when(invoice.str.starts_with("A"))
        .then(pl.lit("adjustment"))
        .otherwise(pl.lit("sale"))
        .alias("kind"),
        pl.lit("WEB").alias("channel"),
        pl.col("Customer ID").alias("customer_id"),
        pl.col("Customer ID").alias("customer_number"),
        pl.col("Country").alias("country"),
        pl.col("InvoiceDate")
        .dt.replace_time_zone(LOCAL_TIMEZONE, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .alias("placed_at"),
        pl.when(is_product).then(code).alias("sku"),
        pl.when(~is_product).then(code).alias("charge_code"),
        pl.col("Description").str.strip_chars().alias("description"),
        pl.col("Quantity").alias("quantity"),
        pl.col("Price").alias("unit_price"),
        pl.lit(None, dtype=pl.Int64).alias("cancels_line_id"),
    )
    return conform(frame)


def before(tx: pl.DataFrame, cutoff: date) -> pl.DataFrame:
    """History strictly before ``cutoff`` (local calendar day)."""
    return tx.filter(pl.col("day") < cutoff)


def between(tx: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    return tx.filter((pl.col("day") >= start) & (pl.col("day") < end))


def product_sales(tx: pl.DataFrame) -> pl.DataFrame:
    """Sale lines of products, net of the cancellations that reverse them.

    Columns: line_id, order_number, customer_id, customer_number, placed_at, day, sku,
    quantity (net, >= 0), unit_price, revenue (net). Lines that were cancelled in full are
    dropped. Stock write-offs (negative quantities on sale invoices) and zero-priced lines are
    not sales. A cancellation is matched to the sale line it names, else to the latest earlier
    sale of the same SKU to the same customer (guest sales match guest cancellations)."""
    sales = tx.filter(
        (pl.col("kind") == "sale")
        & pl.col("sku").is_not_null()
        & (pl.col("quantity") > 0)
        & (pl.col("unit_price") > 0)
    )
    cancelled = _cancelled_quantity_by_sale(tx, sales)
    return (
        sales.join(cancelled, on="line_id", how="left")
        .with_columns(
            quantity=(pl.col("quantity") - pl.col("cancelled").fill_null(0)).clip(lower_bound=0)
        )
        .filter(pl.col("quantity") > 0)
        .with_columns(revenue=pl.col("quantity") * pl.col("unit_price"))
        .select(
            "line_id",
            "order_number",
            "customer_id",
            "customer_number",
            "country",
            "placed_at",
            "day",
            "sku",
            "description",
            "quantity",
            "unit_price",
            "revenue",
        )
    )


def _cancelled_quantity_by_sale(tx: pl.DataFrame, sales: pl.DataFrame) -> pl.DataFrame:
    cancels = tx.filter(
        (pl.col("kind") == "cancellation") & pl.col("sku").is_not_null() & (pl.col("quantity") < 0)
    ).with_columns(units=-pl.col("quantity"), who=pl.col("customer_id").fill_null(-1))
    linked = cancels.filter(pl.col("cancels_line_id").is_not_null()).select(
        pl.col("cancels_line_id").alias("line_id"), "units"
    )
    unlinked = cancels.filter(pl.col("cancels_line_id").is_null()).sort("placed_at")
    candidates = (
        sales.with_columns(who=pl.col("customer_id").fill_null(-1))
        .select("line_id", "who", "sku", pl.col("placed_at").alias("sold_at"))
        .sort("sold_at")
    )
    matched = (
        unlinked.join_asof(
            candidates,
            left_on="placed_at",
            right_on="sold_at",
            by=["who", "sku"],
            strategy="backward",
            check_sortedness=False,
        )
        .filter(pl.col("line_id_right").is_not_null())
        .select(pl.col("line_id_right").alias("line_id"), "units")
    )
    return (
        pl.concat([linked, matched])
        .group_by("line_id")
        .agg(pl.col("units").sum().alias("cancelled"))
    )


def week_index(day: pl.Expr, start: date) -> pl.Expr:
    """Period number of a local day on the grid whose period 0 starts on ``start``."""
    return ((day - pl.lit(start)).dt.total_days() // 7).cast(pl.Int64)


def period_start(start: date, period: int) -> date:
    return start + timedelta(days=7 * period)


def first_full_period(tx: pl.DataFrame, start: date) -> int:
    """The earliest period on ``start``'s grid that the history covers in full."""
    first_day: date | None = tx.select(pl.col("day").min()).item()
    if first_day is None:
        return 0
    offset = (first_day - start).days
    return -((-offset) // 7)


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)
