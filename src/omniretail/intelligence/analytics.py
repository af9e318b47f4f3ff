"""Sales analytics over the canonical frame (Polars expressions, no Python loops over rows)."""

from __future__ import annotations

import polars as pl

from omniretail.intelligence.transactions import product_sales


def weekly_kpis(tx: pl.DataFrame) -> pl.DataFrame:
    """Per channel and week (Monday): revenue, orders, units, average order value,
    cancellation rate (share of ordered revenue cancelled), new and returning customers."""
    week = pl.col("day").dt.truncate("1w").alias("week")
    sales = product_sales(tx).join(tx.select("line_id", "channel"), on="line_id")
    ordered = (
        tx.filter(
            (pl.col("kind") == "sale") & (pl.col("quantity") > 0) & pl.col("sku").is_not_null()
        )
        .group_by("channel", week)
        .agg((pl.col("quantity") * pl.col("unit_price")).sum().alias("ordered"))
    )
    cancelled = (
        tx.filter((pl.col("kind") == "cancellation") & pl.col("sku").is_not_null())
        .group_by("channel", week)
        .agg((-pl.col("quantity") * pl.col("unit_price")).sum().alias("cancelled"))
    )
    first_purchase = sales.group_by("customer_id").agg(pl.col("day").min().alias("first_day"))
    buyers = (
        sales.filter(pl.col("customer_id").is_not_null())
        .join(first_purchase, on="customer_id")
        .with_columns(
            week, new=pl.col("day").dt.truncate("1w") == pl.col("first_day").dt.truncate("1w")
        )
        .group_by("channel", "week")
        .agg(
            pl.col("customer_id").filter(pl.col("new")).n_unique().alias("new_customers"),
            pl.col("customer_id").filter(~pl.col("new")).n_unique().alias("returning_customers"),
        )
    )
    return (
        sales.group_by("channel", week)
        .agg(
            pl.col("revenue").sum(),
            pl.col("order_number").n_unique().alias("orders"),
            pl.col("quantity").sum().alias("units"),
        )
        .with_columns(average_order_value=pl.col("revenue") / pl.col("orders"))
        .join(ordered, on=["channel", "week"], how="left")
        .join(cancelled, on=["channel", "week"], how="left")
        .join(buyers, on=["channel", "week"], how="left")
        .with_columns(
            cancellation_rate=(pl.col("cancelled").fill_null(0) / pl.col("ordered")).fill_nan(0),
            new_customers=pl.col("new_customers").fill_null(0),
            returning_customers=pl.col("returning_customers").fill_null(0),
        )
        .drop("ordered", "cancelled")
        .sort("channel", "week")
    )


def cohort_retention(tx: pl.DataFrame, months: int = 12) -> pl.DataFrame:
    """Rows: month of first purchase; columns m0..m{months-1}: share of the cohort buying in
    that month after it."""
    sales = product_sales(tx).filter(pl.col("customer_id").is_not_null())
    month = pl.col("day").dt.truncate("1mo")
    active = sales.select("customer_id", month.alias("month")).unique()
    cohorts = active.group_by("customer_id").agg(pl.col("month").min().alias("cohort"))
    table = (
        active.join(cohorts, on="customer_id")
        .with_columns(
            age=(pl.col("month").dt.year() - pl.col("cohort").dt.year()) * 12
            + pl.col("month").dt.month().cast(pl.Int32)
            - pl.col("cohort").dt.month().cast(pl.Int32)
        )
        .filter(pl.col("age") < months)
        .group_by("cohort", "age")
        .agg(pl.len().alias("active"))
    )
    sizes = table.filter(pl.col("age") == 0).select("cohort", pl.col("active").alias("customers"))
    wide = (
        table.join(sizes, on="cohort")
        .with_columns(
            share=pl.col("active") / pl.col("customers"), column="m" + pl.col("age").cast(pl.String)
        )
        .pivot(on="column", index=["cohort", "customers"], values="share")
        .sort("cohort")
    )
    present = [f"m{i}" for i in range(months) if f"m{i}" in wide.columns]
    return wide.select(pl.col("cohort").dt.strftime("%Y-%m"), "customers", *present).fill_null(0.0)


def seasonal_best_sellers(tx: pl.DataFrame, top: int = 5) -> pl.DataFrame:
    """The ``top`` SKUs by units in each quarter of the history."""
    sales = product_sales(tx)
    quarter = (
        pl.col("day").dt.year().cast(pl.String) + "-Q" + pl.col("day").dt.quarter().cast(pl.String)
    )
    return (
        sales.group_by(quarter.alias("quarter"), "sku")
        .agg(pl.col("quantity").sum().alias("units"), pl.col("description").drop_nulls().first())
        .sort(["quarter", "units"], descending=[False, True])
        .group_by("quarter", maintain_order=True)
        .head(top)
    )
