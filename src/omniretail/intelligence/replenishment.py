"""Reorder points and order-up-to levels from the forecast, and what to order or transfer.

Periodic review (every ``review_weeks``) with lead time L and target cycle service level:

* reorder point  = forecast demand over L + z * sigma * sqrt(L)
* order-up-to    = forecast demand over L + R + z * sigma * sqrt(L + R)

sigma is the SKU's weekly demand spread (cleaned history). The order history carries no
location, so a SKU's demand is split evenly over the locations that serve the channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import polars as pl

from omniretail.intelligence.forecasting import Forecast


@dataclass(frozen=True)
class ReplenishmentConfig:
    lead_time_weeks: int = 2
    review_weeks: int = 1
    service_level: float = 0.95
    overstock_weeks: float = 26.0  # weeks of cover above which stock is a markdown candidate


def policies(forecast: Forecast, locations: list[str], config: ReplenishmentConfig) -> pl.DataFrame:
    """``sku, location, reorder_point, order_up_to, weekly_demand`` for SKUs expected to sell."""
    if not locations or not forecast.skus:
        return pl.DataFrame(
            schema={
                "sku": pl.String,
                "location": pl.String,
                "reorder_point": pl.Int64,
                "order_up_to": pl.Int64,
                "weekly_demand": pl.Float64,
            }
        )
    z = NormalDist().inv_cdf(config.service_level)
    lead, review = config.lead_time_weeks, config.review_weeks
    horizon = forecast.quantities.shape[1]
    share = 1.0 / len(locations)

    def demand_over(weeks: int) -> np.ndarray:
        covered = forecast.quantities[:, : min(weeks, horizon)].sum(axis=1)
        if weeks > horizon and horizon:
            covered = covered + forecast.quantities[:, -1] * (weeks - horizon)
        return np.asarray(covered)

    sigma = forecast.weekly_sd * math.sqrt(share)
    reorder = np.ceil(demand_over(lead) * share + z * sigma * math.sqrt(lead))
    order_up_to = np.ceil(demand_over(lead + review) * share + z * sigma * math.sqrt(lead + review))
    weekly = demand_over(max(horizon, 1)) / max(horizon, 1) * share
    selling = weekly > 0
    frame = pl.DataFrame(
        {
            "sku": np.array(forecast.skus, dtype=object)[selling],
            "reorder_point": reorder[selling].astype(np.int64),
            "order_up_to": np.maximum(order_up_to, reorder)[selling].astype(np.int64),
            "weekly_demand": weekly[selling],
        },
        schema={
            "sku": pl.String,
            "reorder_point": pl.Int64,
            "order_up_to": pl.Int64,
            "weekly_demand": pl.Float64,
        },
    )
    return frame.join(pl.DataFrame({"location": locations}), how="cross").select(
        "sku", "location", "reorder_point", "order_up_to", "weekly_demand"
    )


def plan(stock: pl.DataFrame, weekly_demand: pl.DataFrame) -> pl.DataFrame:
    """What to do per SKU x location: ``action`` 'order', 'transfer' or 'markdown'.

    ``stock``: sku, location, on_hand, position, reorder_point, order_up_to.
    ``weekly_demand``: sku, location, weekly_demand. Below the reorder point the need is the
    gap to order-up-to; it is met first by transfers from locations holding more than their
    own order-up-to level, the rest is ordered."""
    joined = stock.join(weekly_demand, on=["sku", "location"], how="left").with_columns(
        pl.col("weekly_demand").fill_null(0.0)
    )
    need = joined.filter(
        pl.col("reorder_point").is_not_null() & (pl.col("position") <= pl.col("reorder_point"))
    ).with_columns(quantity=pl.col("order_up_to") - pl.col("position"))
    surplus = (
        joined.filter(
            pl.col("order_up_to").is_not_null() & (pl.col("position") > pl.col("order_up_to"))
        )
        .with_columns(spare=pl.col("position") - pl.col("order_up_to"))
        .sort("spare", descending=True)
        .group_by("sku")
        .agg(pl.col("location").first().alias("from_location"), pl.col("spare").first())
    )
    planned = need.join(surplus, on="sku", how="left").with_columns(
        transfer=pl.min_horizontal(pl.col("spare").fill_null(0), pl.col("quantity"))
    )
    transfers = planned.filter(pl.col("transfer") > 0).select(
        pl.lit("transfer").alias("action"),
        "sku",
        pl.col("location"),
        pl.col("from_location"),
        pl.col("transfer").alias("quantity"),
        pl.lit(None, dtype=pl.Float64).alias("weeks_of_cover"),
    )
    orders = (
        planned.with_columns(rest=pl.col("quantity") - pl.col("transfer"))
        .filter(pl.col("rest") > 0)
        .select(
            pl.lit("order").alias("action"),
            "sku",
            "location",
            pl.lit(None, dtype=pl.String).alias("from_location"),
            pl.col("rest").alias("quantity"),
            pl.lit(None, dtype=pl.Float64).alias("weeks_of_cover"),
        )
    )
    return pl.concat([transfers, orders]).sort("action", "sku", "location")


def overstock(
    stock: pl.DataFrame, weekly_demand: pl.DataFrame, config: ReplenishmentConfig
) -> pl.DataFrame:
    """Weeks of cover per SKU x location with stock, and the units over the target cover
    (``overstock_weeks`` of weekly demand); markdown candidates first, largest overstock first.

    ``weekly_demand`` holds the forecast demand of the planned locations (sku, location,
    weekly_demand). Stock of a SKU that is forecast to sell nowhere (a discontinued line) is a
    markdown candidate wherever it lies (weekly demand 0, infinite cover). A location the plan
    does not cover (no forecast demand there, e.g. a store when only the channel's warehouse
    is planned) has no weekly demand and no cover, and is never a candidate on that ground."""
    selling = weekly_demand.group_by("sku").agg(pl.col("weekly_demand").sum().alias("total"))
    return (
        stock.filter(pl.col("on_hand") > 0)
        .join(weekly_demand, on=["sku", "location"], how="left")
        .join(selling, on="sku", how="left")
        .with_columns(
            weekly_demand=pl.when(pl.col("total").fill_null(0.0) <= 0)
            .then(0.0)
            .otherwise(pl.col("weekly_demand"))
        )
        .with_columns(
            weeks_of_cover=pl.when(pl.col("weekly_demand") > 0)
            .then(pl.col("on_hand") / pl.col("weekly_demand"))
            .when(pl.col("weekly_demand") == 0)
            .then(float("inf"))
        )
        .with_columns(
            markdown=pl.col("weeks_of_cover").fill_null(0.0) > config.overstock_weeks,
            over_target=pl.col("on_hand") - pl.col("weekly_demand") * config.overstock_weeks,
        )
        .sort(
            ["markdown", "over_target", "sku", "location"],
            descending=[True, True, False, False],
            nulls_last=True,
        )
        .select(
            "sku",
            "location",
            "on_hand",
            "weekly_demand",
            "weeks_of_cover",
            "over_target",
            "markdown",
        )
    )
