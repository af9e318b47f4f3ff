"""Turning a typed transaction log into the rows of the platform's tables (pure Polars).

Rules, each chosen to keep the history faithful to the source:

- Every readable row becomes one order line, in file order (``line_no`` 1..n per invoice).
  Exact duplicates stay: the log has no line identifier, two identical rows are two lines of
  the invoice as billed, and dropping one would change the invoice's total and its demand.
- One order per invoice: prefix C is a cancellation, A an adjustment, otherwise a sale.
- Stock codes are normalised with ``catalog.service.normalise_code``; product codes become SKUs
  (one product per SKU), other codes (postage, manual lines, fees...) stay out of the catalog
  and their lines name a ``charge_code``.
- Invoice times are UK local time; they are stored in UTC.
- A cancellation line points at the most recent earlier sale line of the same customer and
  SKU whose quantity covers the cancelled quantity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl

from omniretail.catalog.service import is_product_code, non_product_kind, normalise_code
from omniretail.history.schemas import CancellationLinks, NonProductCodes
from omniretail.history.source import COLUMNS

UK_TIME = "Europe/London"
MAX_DESCRIPTION = 300
MAX_COUNTRY = 80
KIND_BY_PREFIX = {"C": "cancellation", "A": "adjustment"}


@dataclass(frozen=True)
class PreparedHistory:
    """The rows to load, keyed by natural keys only (database ids are resolved on insert)."""

    skus: pl.DataFrame  # code, name, price, attributes (JSON text)
    customers: pl.DataFrame  # customer_number, country, created_at
    orders: pl.DataFrame  # position, number, kind, customer_number, country, total, placed_at
    lines: pl.DataFrame  # position, order_number, line_no, sku_code, charge_code, ...
    links: pl.DataFrame  # order_number, line_no, target_number, target_line_no
    facts: dict[str, Any]  # the report's counts


def prepare(log: pl.DataFrame) -> PreparedHistory:
    kept = log.filter(pl.col("set_aside").is_null())
    lines = _lines(kept)
    orders = _orders(lines)
    links, cancellations = _cancellation_links(lines)
    skus = _skus(lines)
    facts = {
        "rows_read": log.height,
        "rows_kept": kept.height,
        "rows_set_aside": _set_aside(log),
        "stock_codes_read": log["StockCode"].drop_nulls().n_unique(),
        "stock_codes_merged": kept["StockCode"].n_unique() - lines["code"].n_unique(),
        "invoices": orders.height,
        "orders_by_kind": _count_by(orders, "kind"),
        "order_lines": lines.height,
        "product_lines": int(lines["is_product"].sum()),
        "charge_lines": int((~lines["is_product"]).sum()),
        "non_product_codes": _non_product_codes(lines),
        "skus": skus.height,
        "skus_without_description": int(skus["undescribed"].sum()),
        "countries": kept["Country"].drop_nulls().n_unique(),
        "guest_lines": kept["Customer ID"].null_count(),
        "price_not_positive_lines": int((kept["Price"] <= 0).sum()),
        "negative_quantity_lines": int((kept["Quantity"] < 0).sum()),
        "negative_quantity_sale_lines": lines.filter(
            (pl.col("kind") == "sale") & (pl.col("Quantity") < 0)
        ).height,
        "duplicate_lines": kept.height - kept.select(COLUMNS).unique().height,
        "missing_description_lines": int(lines["description"].is_null().sum()),
        "local_times_adjusted": int(lines["time_adjusted"].sum()),
        "cancellations": cancellations,
    }
    customers = _customers(lines)
    facts["customers"] = customers.height
    return PreparedHistory(
        skus=skus.drop("undescribed"),
        customers=customers,
        orders=orders,
        lines=lines.select(
            "position",
            pl.col("Invoice").alias("order_number"),
            "line_no",
            pl.when("is_product").then("code").alias("sku_code"),
            pl.when(~pl.col("is_product")).then("code").alias("charge_code"),
            "description",
            pl.col("Quantity").alias("quantity"),
            "unit_price",
        ),
        links=links,
        facts=facts,
    )


def _lines(kept: pl.DataFrame) -> pl.DataFrame:
    raw_codes = kept["StockCode"].unique().to_list()
    code_of = {raw: normalise_code(raw) for raw in raw_codes}
    product = {code: is_product_code(code) for code in set(code_of.values())}
    local = pl.col("InvoiceDate")
    earliest = local.dt.replace_time_zone(UK_TIME, ambiguous="earliest", non_existent="null")
    latest = local.dt.replace_time_zone(UK_TIME, ambiguous="latest", non_existent="null")
    description = pl.col("Description").str.strip_chars()
    country = pl.col("Country").str.strip_chars()
    return kept.with_columns(
        pl.col("Invoice").str.strip_chars(),
        code=pl.col("StockCode").replace_strict(code_of, return_dtype=pl.String),
    ).with_columns(
        position=pl.col("row"),
        is_product=pl.col("code").replace_strict(product, return_dtype=pl.Boolean),
        line_no=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("Invoice"),
        kind=pl.col("Invoice")
        .str.slice(0, 1)
        .replace_strict(KIND_BY_PREFIX, default="sale", return_dtype=pl.String),
        # A time in the spring-forward gap was written by a clock not yet moved on: still GMT.
        placed_at=pl.coalesce(
            earliest.dt.convert_time_zone("UTC"), local.dt.replace_time_zone("UTC")
        ),
        time_adjusted=earliest.is_null() | (earliest != latest),
        description=pl.when(description != "").then(description.str.slice(0, MAX_DESCRIPTION)),
        unit_price=pl.col("Price").round(3),
        price_milli=(pl.col("Price") * 1000).round(0).cast(pl.Int64),
        Country=pl.when(country != "").then(country.str.slice(0, MAX_COUNTRY)),
    )


def _orders(lines: pl.DataFrame) -> pl.DataFrame:
    return (
        lines.group_by("Invoice", maintain_order=True)
        .agg(
            position=pl.col("position").first(),
            kind=pl.col("kind").first(),
            customer_number=pl.col("Customer ID").drop_nulls().first(),
            country=pl.col("Country").drop_nulls().first(),
            total_milli=(pl.col("Quantity").cast(pl.Int64) * pl.col("price_milli")).sum(),
            placed_at=pl.col("placed_at").min(),
        )
        .select(
            "position",
            pl.col("Invoice").alias("number"),
            "kind",
            "customer_number",
            "country",
            (pl.col("total_milli") / 1000).alias("total"),
            "placed_at",
        )
    )


def _customers(lines: pl.DataFrame) -> pl.DataFrame:
    """One customer per Customer ID; country is the one most of their lines name."""
    known = lines.filter(pl.col("Customer ID").is_not_null())
    first_seen = known.group_by("Customer ID").agg(created_at=pl.col("placed_at").min())
    country = (
        known.filter(pl.col("Country").is_not_null())
        .group_by("Customer ID", "Country")
        .agg(n=pl.len(), last=pl.col("placed_at").max())
        .sort(["n", "last", "Country"], descending=[True, True, False])
        .group_by("Customer ID", maintain_order=True)
        .agg(country=pl.col("Country").first())
    )
    return (
        first_seen.join(country, on="Customer ID", how="left")
        .select(pl.col("Customer ID").alias("customer_number"), "country", "created_at")
        .sort("customer_number")
    )


def _skus(lines: pl.DataFrame) -> pl.DataFrame:
    """Name: the most frequent description, preferring those on priced lines (write-offs at
    price 0 carry notes such as "damaged"). Price: the most common positive sale price."""
    products = lines.filter("is_product")
    names = (
        products.filter(pl.col("description").is_not_null())
        .group_by("code", "description")
        .agg(priced=(pl.col("Price") > 0).sum(), n=pl.len())
        .sort(["priced", "n", "description"], descending=[True, True, False])
        .group_by("code", maintain_order=True)
        .agg(name=pl.col("description").first())
    )
    prices = (
        products.filter(
            (pl.col("kind") == "sale") & (pl.col("Quantity") > 0) & (pl.col("Price") > 0)
        )
        .with_columns(price=pl.col("Price").round(2))
        .filter(pl.col("price") > 0)
        .group_by("code", "price")
        .agg(n=pl.len())
        .sort(["n", "price"], descending=[True, False])
        .group_by("code", maintain_order=True)
        .agg(pl.col("price").first())
    )
    spellings = products.group_by("code").agg(pl.col("StockCode").unique().sort())
    skus = (
        spellings.join(names, on="code", how="left")
        .join(prices, on="code", how="left")
        .sort("code")
    )
    attributes = [json.dumps({"source_codes": codes}) for codes in skus["StockCode"].to_list()]
    return skus.select(
        "code",
        pl.col("name").fill_null(pl.col("code")),
        "price",
        pl.Series("attributes", attributes, dtype=pl.String),
        pl.col("name").is_null().alias("undescribed"),
    )


def _cancellation_links(lines: pl.DataFrame) -> tuple[pl.DataFrame, CancellationLinks]:
    """For each cancelled product line: the latest sale line of the same customer and SKU at or
    before it with at least the cancelled quantity.

    ``join_asof`` takes the latest earlier row but cannot also require the quantity, so this
    is the same as-of match spelt out: join on (customer, SKU), keep earlier lines that cover
    the quantity, take the latest."""
    cancels = lines.filter(
        (pl.col("kind") == "cancellation") & pl.col("is_product") & (pl.col("Quantity") < 0)
    ).select(
        "Invoice",
        "line_no",
        "Customer ID",
        "code",
        "placed_at",
        (-pl.col("Quantity")).alias("cancelled"),
    )
    sales = lines.filter(
        (pl.col("kind") == "sale")
        & pl.col("is_product")
        & (pl.col("Quantity") > 0)
        & pl.col("Customer ID").is_not_null()
    ).select(
        "Customer ID",
        "code",
        pl.col("placed_at").alias("sold_at"),
        pl.col("Quantity").alias("sold"),
        pl.col("position").alias("sale_position"),
        pl.col("Invoice").alias("target_number"),
        pl.col("line_no").alias("target_line_no"),
    )
    links = (
        cancels.filter(pl.col("Customer ID").is_not_null())
        .join(sales, on=["Customer ID", "code"], how="inner")
        .filter(
            (pl.col("sold_at") <= pl.col("placed_at")) & (pl.col("sold") >= pl.col("cancelled"))
        )
        .sort(["sold_at", "sale_position"])
        .group_by("Invoice", "line_no")
        .agg(pl.col("target_number").last(), pl.col("target_line_no").last())
        .select(
            pl.col("Invoice").alias("order_number"), "line_no", "target_number", "target_line_no"
        )
        .sort("order_number", "line_no")
    )
    guests = cancels["Customer ID"].null_count()
    summary = CancellationLinks(
        lines=cancels.height,
        linked=links.height,
        unmatched_no_customer=guests,
        unmatched_no_sale=cancels.height - guests - links.height,
    )
    return links, summary


def _non_product_codes(lines: pl.DataFrame) -> list[NonProductCodes]:
    counts = lines.filter(~pl.col("is_product")).group_by("code").agg(n=pl.len())
    by_kind: dict[str, tuple[list[str], int]] = {}
    for code, n in counts.sort("code").iter_rows():
        codes, total = by_kind.get(non_product_kind(code), ([], 0))
        by_kind[non_product_kind(code)] = ([*codes, code], total + n)
    return [
        NonProductCodes(kind=kind, codes=codes, lines=n)
        for kind, (codes, n) in sorted(by_kind.items(), key=lambda item: (-item[1][1], item[0]))
    ]


def _set_aside(log: pl.DataFrame) -> dict[str, int]:
    rows = log.filter(pl.col("set_aside").is_not_null()).group_by("set_aside").len()
    return dict(sorted((str(k), int(n)) for k, n in rows.iter_rows()))


def _count_by(frame: pl.DataFrame, column: str) -> dict[str, int]:
    return dict(sorted((str(k), int(n)) for k, n in frame.group_by(column).len().iter_rows()))
