"""Rolling-origin evaluation: fit on history before each cutoff, score the weeks after it,
next to simple baselines. Model choices were made on ``TUNING_CUTOFFS`` only; the figures in
``docs/evaluation.md`` come from ``REPORTED_CUTOFFS``, whose scored weeks start after the
tuning windows end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import polars as pl

from omniretail.intelligence import lifetime, recommending
from omniretail.intelligence.forecasting import (
    ForecastConfig,
    actual_demand,
    demand_history,
    forecast,
)
from omniretail.intelligence.recommending import RecommendConfig
from omniretail.intelligence.service import NEW, NEXT
from omniretail.intelligence.transactions import product_sales

TUNING_CUTOFFS = [date(2010, 4, 6), date(2010, 5, 11)]
REPORTED_CUTOFFS = [date(2010, 8, 10), date(2010, 8, 24), date(2010, 9, 7)]


@dataclass
class Row:
    cutoff: date
    task: str
    metric: str
    model: str
    value: float | None


def evaluate(
    tx: pl.DataFrame, cutoffs: list[date], weeks: int, progress: Callable[[str], None]
) -> list[Row]:
    rows: list[Row] = []
    for cutoff in cutoffs:
        rows += _forecast_rows(tx, cutoff, weeks)
        progress(f"{cutoff}: forecast scored")
        rows += _recommendation_rows(tx, cutoff, weeks)
        progress(f"{cutoff}: recommendations scored")
        rows += _lifetime_rows(tx, cutoff, weeks)
        progress(f"{cutoff}: CLV and churn scored")
    return rows


def wape_and_bias(predicted: pl.DataFrame, actual: pl.DataFrame) -> tuple[float, float]:
    """Both frames ``sku, period, quantity``; a missing row counts as 0."""
    joined = predicted.join(actual, on=["sku", "period"], how="full", coalesce=True).fill_null(0)
    truth = float(joined["quantity_right"].sum())
    error = float((joined["quantity"] - joined["quantity_right"]).abs().sum())
    total = float(joined["quantity"].sum())
    return error / truth, (total - truth) / truth


def _long(skus: list[str], matrix: np.ndarray) -> pl.DataFrame:
    weeks = matrix.shape[1]
    return pl.DataFrame(
        {
            "sku": np.repeat(np.array(skus, dtype=object), weeks),
            "period": np.tile(np.arange(weeks), len(skus)),
            "quantity": np.clip(matrix, 0, None).ravel(),
        },
        schema={"sku": pl.String, "period": pl.Int64, "quantity": pl.Float64},
    )


def _forecast_rows(tx: pl.DataFrame, cutoff: date, weeks: int) -> list[Row]:
    history = demand_history(tx, cutoff)
    actual = actual_demand(tx, cutoff, weeks)
    candidates = {
        "model (SES + cap + calendar)": forecast(history, weeks, ForecastConfig()),
        "baseline: recent mean (8 weeks)": forecast(
            history,
            weeks,
            ForecastConfig(
                level_method="mean", cap_multiple=None, dormant_weeks=None, calendar=False
            ),
        ),
    }
    rows = []
    for name, result in candidates.items():
        wape, bias = wape_and_bias(_long(result.skus, result.quantities), actual)
        rows += [
            Row(cutoff, "forecast", "WAPE", name, wape),
            Row(cutoff, "forecast", "bias", name, bias),
        ]
    lagged = history.periods[0] <= -52 + 0 and history.demand.shape[1] >= 52
    if lagged:
        start = history.demand.shape[1] - 52
        naive = history.demand[:, start : start + weeks]
        wape, bias = wape_and_bias(_long(history.skus, naive), actual)
    else:
        wape = bias = None  # type: ignore[assignment]
    name = "baseline: seasonal naive (52 weeks)"
    rows += [
        Row(cutoff, "forecast", "WAPE", name, wape),
        Row(cutoff, "forecast", "bias", name, bias),
    ]
    return rows


def _recommendation_rows(tx: pl.DataFrame, cutoff: date, weeks: int) -> list[Row]:
    end = cutoff + timedelta(weeks=weeks)
    window = product_sales(tx.filter(pl.col("day") < end)).filter(
        (pl.col("day") >= cutoff) & pl.col("customer_id").is_not_null()
    )
    truth = window.select("customer_id", "sku").unique()
    history = product_sales(tx.filter(pl.col("day") < cutoff)).filter(
        pl.col("customer_id").is_not_null()
    )
    known = history["customer_id"].unique()
    seen = history.select("customer_id", "sku").unique()
    truth_new = truth.join(seen, on=["customer_id", "sku"], how="anti")
    models: dict[str, RecommendConfig] = {
        "baseline: popularity": RecommendConfig(method="popular"),
        "baseline: buy again": NEXT,
        "co-purchase blend": replace(NEW, exclude_purchased=False),
    }
    rows = []
    for scope, ground in (("all items", truth), ("new items", truth_new)):
        for name, config in models.items():
            if scope == "new items":
                config = replace(config, exclude_purchased=True)
            lists, _ = recommending.recommend(tx.filter(pl.col("day") < cutoff), cutoff, 10, config)
            hit, precision, recall = _ranking_metrics(lists, ground, known)
            task = f"recommend ({scope})"
            rows += [
                Row(cutoff, task, "hit@10", name, hit),
                Row(cutoff, task, "precision@10", name, precision),
                Row(cutoff, task, "recall@10", name, recall),
            ]
    return rows


def _ranking_metrics(
    lists: pl.DataFrame, truth: pl.DataFrame, known: pl.Series
) -> tuple[float, float, float]:
    """Averaged over known customers who bought something (new to them, for that scope)."""
    truth = truth.filter(pl.col("customer_id").is_in(known.implode()))
    top = lists.filter(pl.col("rank") <= 10)
    hits = top.join(truth, on=["customer_id", "sku"]).group_by("customer_id").len("hits")
    counts = truth.group_by("customer_id").len("n").join(hits, on="customer_id", how="left")
    counts = counts.fill_null(0)
    found = counts["hits"].to_numpy().astype(np.float64)
    relevant = counts["n"].to_numpy().astype(np.float64)
    if not len(found):
        return 0.0, 0.0, 0.0
    return float((found > 0).mean()), float((found / 10).mean()), float((found / relevant).mean())


def _lifetime_rows(tx: pl.DataFrame, cutoff: date, weeks: int) -> list[Row]:
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    history = tx.filter(pl.col("day") < cutoff)
    summary = lifetime.customer_summary(history, cutoff)
    outcome = lifetime.outcomes(tx, cutoff, weeks)
    last = lifetime.outcomes(history, cutoff - timedelta(weeks=weeks), weeks).rename(
        {"revenue_next": "last_spend"}
    )
    mbg = lifetime.predict(lifetime.fit(summary), summary, weeks)
    boosted = lifetime.predict_boosted(history, cutoff, weeks)
    frame = (
        summary.select("customer_id", "last_day")
        .join(outcome, on="customer_id", how="left")
        .join(last, on="customer_id", how="left")
        .join(
            mbg.select(
                "customer_id",
                pl.col("expected_revenue").alias("mbg"),
                pl.col("p_alive").alias("mbg_alive"),
            ),
            on="customer_id",
        )
        .with_columns(pl.col("revenue_next", "last_spend").fill_null(0.0))
    )
    if boosted is not None:
        frame = frame.join(
            boosted.select(
                "customer_id",
                pl.col("expected_revenue").alias("boosted"),
                pl.col("p_alive").alias("boosted_alive"),
            ),
            on="customer_id",
        )
    actual = frame["revenue_next"].to_numpy()
    active = (actual > 0).astype(int)
    recency = -(
        (pl.lit(cutoff) - frame["last_day"]).dt.total_days()
        if False
        else frame.select((pl.lit(cutoff) - pl.col("last_day")).dt.total_days())[
            "literal"
        ].to_numpy()
    )
    rows = []
    values = {
        "baseline: last-period spend": frame["last_spend"].to_numpy(),
        "MBG/NBD + Gamma-Gamma": frame["mbg"].to_numpy(),
    }
    alive = {"baseline: recency": recency.astype(float), "MBG/NBD": frame["mbg_alive"].to_numpy()}
    if boosted is not None:
        values["model: boosted (RFM + MBG/NBD features)"] = frame["boosted"].to_numpy()
        alive["model: boosted"] = frame["boosted_alive"].to_numpy()
    for name, predicted in values.items():
        rows += [
            Row(cutoff, "clv", "Spearman", name, float(spearmanr(predicted, actual).statistic)),
            Row(cutoff, "clv", "top-10% revenue capture", name, _capture(predicted, actual)),
        ]
    for name, score in alive.items():
        rows.append(Row(cutoff, "p_alive", "ROC AUC", name, float(roc_auc_score(active, score))))
    return rows


def _capture(predicted: np.ndarray, actual: np.ndarray) -> float:
    top = np.argsort(-predicted, kind="stable")[: max(1, round(0.1 * len(predicted)))]
    return float(actual[top].sum() / actual.sum()) if actual.sum() > 0 else 0.0


def markdown(rows: list[Row]) -> str:
    """One table per task: metric x model, one column per cutoff."""
    frame = pl.DataFrame(
        [(r.cutoff.isoformat(), r.task, r.metric, r.model, r.value) for r in rows],
        schema={
            "cutoff": pl.String,
            "task": pl.String,
            "metric": pl.String,
            "model": pl.String,
            "value": pl.Float64,
        },
        orient="row",
    )
    cutoffs = sorted(frame["cutoff"].unique().to_list())
    lines: list[str] = []
    for task in frame["task"].unique(maintain_order=True).to_list():
        lines += [
            f"### {task}",
            "",
            "| metric | model | " + " | ".join(cutoffs) + " | mean |",
            "| --- | --- | " + " | ".join("---:" for _ in cutoffs) + " | ---: |",
        ]
        part = frame.filter(pl.col("task") == task)
        for (metric, model), group in part.group_by(["metric", "model"], maintain_order=True):
            by_cutoff = dict(zip(group["cutoff"], group["value"], strict=True))
            cells = [_cell(by_cutoff.get(c)) for c in cutoffs]
            present = [v for v in by_cutoff.values() if v is not None]
            mean = _cell(sum(present) / len(present)) if present else "n/a"
            lines.append(f"| {metric} | {model} | " + " | ".join(cells) + f" | {mean} |")
        lines.append("")
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
