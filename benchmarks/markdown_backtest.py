"""Markdown back-test on the Online Retail II history: fit on data before a cut date, suggest,
and measure what happened after it (never fitting on the evaluated period).

1. The price response fitted on weeks before the cut (its own holdout: the last 8 of them).
2. After the cut: each product-week's units predicted by the forecast alone and by the
   forecast times (shelf price / pre-cut shelf price) ** elasticity, against what sold.
3. Ladders for a stress case (stock = 2 x the forecast to the clear-by date for every SKU
   forecast to sell): how many clear, the depth, expected revenue against no markdown, and
   the units that actually sold (at the prices charged) against the expected full-price units.

Usage: PYTHONPATH=src python benchmarks/markdown_backtest.py [parquet] [--cut YYYY-MM-DD]
Prints figures and a final JSON line."""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from omniretail.intelligence.forecasting import ForecastConfig, demand_history, forecast
from omniretail.intelligence.markdowns import (
    MarkdownConfig,
    clip_elasticity,
    estimate_elasticity,
    optimise,
    weekly_panel,
)
from omniretail.intelligence.transactions import read_source_file

DATA = Path("/work/shared/data/online_retail_ii_2009_2010.parquet")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", nargs="?", type=Path, default=DATA)
    parser.add_argument("--cut", default="2010-09-06")
    parser.add_argument("--weeks", type=int, default=8)
    args = parser.parse_args()
    cut = date.fromisoformat(args.cut)
    weeks = args.weeks
    config = MarkdownConfig(weeks=weeks)
    started = time.perf_counter()
    tx = read_source_file(args.path)
    fit = estimate_elasticity(weekly_panel(tx, cut), holdout_weeks=8)
    b = clip_elasticity(fit.coefficient, config)
    low, high = fit.ci95
    print(f"cut {cut}, {weeks} weeks after; {tx.height:,} lines")
    print(
        f"elasticity {fit.coefficient:.3f} (SE {fit.std_error:.3f}, 95% CI {low:.3f}..{high:.3f},"
        f" {fit.observations:,} product-weeks, {fit.products:,} products, {fit.weeks} weeks);"
        f" holdout RMSE log units {fit.holdout_rmse:.4f} vs {fit.baseline_rmse:.4f} no-price"
    )
    result = forecast(demand_history(tx, cut), weeks, ForecastConfig())
    before = weekly_panel(tx, cut).filter(pl.col("period") >= -8)
    pre = before.group_by("sku").agg(pre_price=pl.col("price").median())
    end = cut + timedelta(weeks=weeks)
    after = weekly_panel(tx, end).with_columns(period=pl.col("period") + weeks)
    after = after.filter(pl.col("period") >= 0)
    fc = pl.DataFrame(
        {
            "sku": np.repeat(np.array(result.skus, dtype=object), weeks),
            "period": np.tile(np.arange(weeks), len(result.skus)),
            "forecast": result.quantities.ravel(),
        },
        schema={"sku": pl.String, "period": pl.Int64, "forecast": pl.Float64},
    )
    joined = after.join(fc, on=["sku", "period"]).join(pre, on="sku").filter(pl.col("forecast") > 0)
    ratio = joined["price"].to_numpy() / joined["pre_price"].to_numpy()
    actual = joined["units"].to_numpy()
    plain = joined["forecast"].to_numpy()
    priced = plain * ratio**b
    moved = np.abs(np.log(ratio)) > 0.05

    def mae(pred: np.ndarray, mask: np.ndarray) -> float:
        return float(np.abs(actual[mask] - pred[mask]).mean()) if mask.any() else float("nan")

    everything = np.ones(len(actual), dtype=bool)
    print(
        f"after the cut: {len(actual):,} product-weeks ({int(moved.sum()):,} with the shelf price"
        f" >5% off its pre-cut level); MAE units forecast x price response"
        f" {mae(priced, everything):.2f} vs forecast alone {mae(plain, everything):.2f};"
        f" where the price moved {mae(priced, moved):.2f} vs {mae(plain, moved):.2f}"
    )
    prices = pre.filter(pl.col("pre_price") > 0)
    price_of = dict(zip(prices["sku"].to_list(), prices["pre_price"].to_list(), strict=True))
    sold = after.group_by("sku").agg(
        pl.col("units").sum(), (pl.col("units") * pl.col("price")).sum().alias("rev")
    )
    sold_of = {r["sku"]: r for r in sold.iter_rows(named=True)}
    ladders = clears = 0
    depth: list[float] = []
    expected = baseline = expected_units = baseline_units = realised_units = 0.0
    for i, sku in enumerate(result.skus):
        demand = np.clip(result.quantities[i], 0.0, None)
        if demand.sum() <= 0 or sku not in price_of:
            continue
        stock = float(np.ceil(2 * demand.sum()))
        ladder = optimise(stock, demand, price_of[sku], b, config.guardrails)
        ladders += 1
        clears += ladder.clears
        depth.append(float(ladder.discounts.max()))
        expected += ladder.revenue
        baseline += ladder.baseline_revenue
        expected_units += float(ladder.units.sum())
        baseline_units += ladder.baseline_units
        realised_units += float(min(stock, sold_of[sku]["units"])) if sku in sold_of else 0.0
    seconds = time.perf_counter() - started
    print(
        f"stress case (stock = 2 x forecast): {ladders:,} ladders, {clears:,} clear by the date,"
        f" mean deepest discount {100 * float(np.mean(depth)):.1f}%; expected revenue"
        f" {expected:,.0f} vs {baseline:,.0f} without markdown"
        f" (+{100 * (expected / baseline - 1):.1f}%);"
        f" expected units {expected_units:,.0f} vs {baseline_units:,.0f} full price; units that"
        f" actually sold (at the prices charged, capped at the stock) {realised_units:,.0f};"
        f" {seconds:.1f} s"
    )
    print(
        json.dumps(
            {
                "benchmark": "markdown_backtest",
                "cut": cut.isoformat(),
                "weeks": weeks,
                "elasticity": fit.as_dict(),
                "elasticity_used": b,
                "after_cut_product_weeks": len(actual),
                "after_cut_price_moved": int(moved.sum()),
                "mae_with_price": round(mae(priced, everything), 3),
                "mae_forecast_only": round(mae(plain, everything), 3),
                "mae_with_price_moved": round(mae(priced, moved), 3),
                "mae_forecast_only_moved": round(mae(plain, moved), 3),
                "ladders": ladders,
                "ladders_clearing": clears,
                "mean_deepest_discount": round(float(np.mean(depth)), 4) if depth else None,
                "expected_revenue": round(expected, 2),
                "baseline_revenue": round(baseline, 2),
                "expected_units": round(expected_units, 1),
                "baseline_units": round(baseline_units, 1),
                "realised_units": round(realised_units, 1),
                "seconds": round(seconds, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
