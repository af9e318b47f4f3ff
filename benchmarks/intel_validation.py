"""In-year validation of the contract models (forecast, recommend, clv) next to simple rules.

    PYTHONPATH=src python benchmarks/intel_validation.py [--data PATH] [--task clv|...]

The contract is scored on the year after the shared log: fitted on Dec 2009 - Nov 2010,
scored on 52 weeks of customers (recommend, clv) and 12 weeks of demand (forecast) from
2010-12-01. This script mirrors that inside the shared year by scaling the horizons
(``docs/evaluation.md``, "In-year validation"):

* clv, recommend: cutoff 2010-06-01 (26 weeks of history) scored on the 26 weeks after it
  (history and horizon both halved, the task's 1:1 ratio), and cutoff 2010-09-01 scored on
  13 weeks as a second, shorter check. Models that learn from an earlier window learn on
  the horizon capped at half the history, exactly as they do in the contract run.
* forecast: cutoffs 2010-06-01 and 2010-09-07, 12 weeks each (the second runs into the
  autumn peak). A year-ago profile does not exist inside the year, so the calendar part
  (last year's weekly profile, the Christmas shutdown) cannot be validated here: these
  folds score the per-SKU level, the outlier cap and the discontinued rule only.

Prints one Markdown table per task.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import rankdata, spearmanr
from sklearn.metrics import roc_auc_score

from omniretail.intelligence import lifetime, recommending, recommending_ranker
from omniretail.intelligence.evaluation import _long, wape_and_bias
from omniretail.intelligence.forecasting import (
    ForecastConfig,
    actual_demand,
    demand_history,
    forecast,
)
from omniretail.intelligence.recommending import RecommendConfig
from omniretail.intelligence.service import NEW, NEXT, SLOTS
from omniretail.intelligence.transactions import product_sales, read_source_file

DATA = Path("/work/shared/data/online_retail_ii_2009_2010.parquet")
CUSTOMER_FOLDS = [(date(2010, 6, 1), 26), (date(2010, 9, 1), 13)]
FORECAST_FOLDS = [(date(2010, 6, 1), 12), (date(2010, 9, 7), 12)]


def table(title: str, rows: dict[str, dict[str, float]]) -> None:
    columns = list(next(iter(rows.values())).keys())
    print(f"\n### {title}\n")
    print("| model | " + " | ".join(columns) + " |")
    print("| --- | " + " | ".join("---:" for _ in columns) + " |")
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{values[c]:.3f}" for c in columns) + " |")


# --- clv and p_alive -----------------------------------------------------------------------


def capture(predicted: np.ndarray, actual: np.ndarray) -> float:
    top = np.argsort(-predicted, kind="stable")[: max(1, round(0.1 * len(predicted)))]
    return float(actual[top].sum() / actual.sum())


RICH = [*lifetime.ACTIVITY_FEATURES, "n4", "n8", "r8", "months", "orders", "units", "maxday"]


def rich_features(tx: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """``lifetime.activity_features`` plus purchase days in the last 4 and 8 weeks, revenue in
    the last 8, active months, orders, units and the largest day's spend."""
    sales = product_sales(tx.filter(pl.col("day") < as_of)).filter(
        pl.col("customer_id").is_not_null()
    )
    days = sales.group_by("customer_id", "day").agg(
        pl.col("revenue").sum(),
        pl.col("order_number").n_unique().alias("orders"),
        pl.col("quantity").sum().alias("units"),
    )
    age = (pl.lit(as_of) - pl.col("day")).dt.total_days()
    extra = days.group_by("customer_id").agg(
        n4=(age < 28).sum().cast(pl.Float64),
        n8=(age < 56).sum().cast(pl.Float64),
        r8=pl.col("revenue").filter(age < 56).sum(),
        months=(pl.col("day").dt.year() * 100 + pl.col("day").dt.month()).n_unique(),
        orders=pl.col("orders").sum(),
        units=pl.col("units").sum(),
        maxday=pl.col("revenue").max(),
    )
    return lifetime.activity_features(tx, as_of).join(extra, on="customer_id")


def rich_activity(history: pl.DataFrame, cutoff: date, weeks: int) -> dict[str, pl.DataFrame]:
    """P(active) from the richer features, learned as ``predict_spend_activity`` learns
    (one origin, the horizon capped at half the history): logistic and gradient-boosted."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    first: date = history["day"].min()
    train_weeks = min(weeks, (cutoff - first).days // 7 // 2)
    origin = cutoff - timedelta(weeks=train_weeks)
    train = rich_features(history, origin).join(
        lifetime.outcomes(history, origin, train_weeks), on="customer_id", how="left"
    )
    active = (train["revenue_next"].fill_null(0.0).to_numpy() > 0).astype(int)
    now = rich_features(history, cutoff)

    def inputs(frame: pl.DataFrame) -> np.ndarray:
        return np.log1p(np.clip(frame.select(RICH).to_numpy().astype(float), 0, None))

    models = {
        "logistic, richer features": LogisticRegression(max_iter=3000),
        "gradient-boosted, richer features": HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=40, random_state=0
        ),
    }
    return {
        name: now.select("customer_id").with_columns(
            p_alive=pl.Series(model.fit(inputs(train), active).predict_proba(inputs(now))[:, 1])
        )
        for name, model in models.items()
    }


def clv(tx: pl.DataFrame) -> None:
    for cutoff, weeks in CUSTOMER_FOLDS:
        started = time.perf_counter()
        history = tx.filter(pl.col("day") < cutoff)
        summary = lifetime.customer_summary(history, cutoff)
        truth = summary.select("customer_id", "last_day").join(
            lifetime.outcomes(tx, cutoff, weeks), on="customer_id", how="left"
        )
        actual = truth["revenue_next"].fill_null(0.0).to_numpy()
        active = (actual > 0).astype(int)

        def aligned(frame: pl.DataFrame, column: str, truth: pl.DataFrame = truth) -> np.ndarray:
            joined = truth.select("customer_id").join(frame, on="customer_id", how="left")
            return np.asarray(joined[column].fill_null(0.0).to_numpy(), dtype=np.float64)

        spend = aligned(
            lifetime.outcomes(history, cutoff - timedelta(weeks=weeks), weeks), "revenue_next"
        )
        days_since = truth.select((pl.lit(cutoff) - pl.col("last_day")).dt.total_days())
        recency = -days_since.to_series().to_numpy().astype(np.float64)
        mbg = lifetime.predict(lifetime.fit(summary), summary, weeks)
        shipped = lifetime.predict_spend_activity(history, cutoff, weeks)
        # What main ran: the boosted trees, or MBG/NBD when no earlier window fits (every
        # 52-week contract run, and the 26-week fold here).
        boosted = lifetime.predict_boosted(history, cutoff, weeks)
        previous = mbg if boosted is None else boosted
        assert shipped is not None
        rich = {
            name: aligned(frame, "p_alive")
            for name, frame in rich_activity(history, cutoff, weeks).items()
        }
        weekly = aligned(shipped, "expected_revenue") / np.clip(
            aligned(shipped, "p_alive"), 1e-9, None
        )
        revenue = {
            "rule: last-period spend": spend,
            "MBG/NBD + Gamma-Gamma": aligned(mbg, "expected_revenue"),
            "previous (main): boosted, else MBG/NBD": aligned(previous, "expected_revenue"),
            "shipped: spend (recent half x2) x P(active)": aligned(shipped, "expected_revenue"),
            "rank blend: spend + P(active)": rankdata(spend)
            + rankdata(aligned(shipped, "p_alive")),
            "rank blend: spend + 0.5 P(active)": rankdata(spend)
            + 0.5 * rankdata(aligned(shipped, "p_alive")),
            "spend (recent half x2) x P(active)^2": weekly * aligned(shipped, "p_alive") ** 2,
            **{f"spend (recent half x2) x P(active) {k}": weekly * v for k, v in rich.items()},
        }
        alive = {
            "rule: days since last purchase": recency,
            "MBG/NBD p_alive": aligned(mbg, "p_alive"),
            "previous (main): boosted, else MBG/NBD": aligned(previous, "p_alive"),
            "shipped: logistic P(active)": aligned(shipped, "p_alive"),
            **{f"P(active) {k}": v for k, v in rich.items()},
        }
        rows = {
            name: {
                "Spearman": float(spearmanr(values, actual).statistic),
                "top-10% share": capture(values, actual),
            }
            for name, values in revenue.items()
        }
        table(f"clv, cutoff {cutoff}, {weeks} weeks, {len(actual):,} customers", rows)
        aucs = {name: {"ROC AUC": float(roc_auc_score(active, v))} for name, v in alive.items()}
        table(f"p_alive, cutoff {cutoff}, {weeks} weeks, active {active.mean():.3f}", aucs)
        print(f"\n({time.perf_counter() - started:.0f} s)")


# --- recommend -----------------------------------------------------------------------------


def scores(lists: pl.DataFrame, truth: pl.DataFrame, k: int = 10) -> tuple[float, float]:
    top = lists.filter(pl.col("rank") <= k)
    hits = top.join(truth, on=["customer_id", "sku"]).group_by("customer_id").len("hits")
    counts = truth.select("customer_id").unique().join(hits, on="customer_id", how="left")
    found = counts["hits"].fill_null(0).to_numpy().astype(np.float64)
    return float((found / k).mean()), float((found > 0).mean())


def recommend(tx: pl.DataFrame) -> None:
    for cutoff, weeks in CUSTOMER_FOLDS:
        started = time.perf_counter()
        history = tx.filter(pl.col("day") < cutoff)
        before = product_sales(history).filter(pl.col("customer_id").is_not_null())
        seen = before.select("customer_id", "sku").unique()
        window = product_sales(tx.filter(pl.col("day") < cutoff + timedelta(weeks=weeks)))
        truth = (
            window.filter((pl.col("day") >= cutoff) & pl.col("customer_id").is_not_null())
            .select("customer_id", "sku")
            .unique()
            .join(seen.select("customer_id").unique(), on="customer_id")
        )
        truth_new = truth.join(seen, on=["customer_id", "sku"], how="anti")

        def lists(
            config: RecommendConfig, history: pl.DataFrame = history, cutoff: date = cutoff
        ) -> pl.DataFrame:
            return recommending.recommend(history, cutoff, 10, config)[0]

        buy_again = lists(NEXT)
        new_blend = lists(NEW)
        popular_new = lists(RecommendConfig(method="popular", exclude_purchased=True))
        candidates = {
            "rule: popularity": lists(RecommendConfig(method="popular")),
            "rule: buy again, half-life 12 w (previous)": lists(
                replace(NEXT, recency_weeks=12.0, own_popularity=0.0)
            ),
            "buy again, half-life 26 w": lists(replace(NEXT, own_popularity=0.0)),
            "buy again, half-life 52 w": lists(
                replace(NEXT, recency_weeks=52.0, own_popularity=0.0)
            ),
            "buy again 26 w + popularity among own x 0.3": lists(replace(NEXT, own_popularity=0.3)),
            "buy again 26 w + popularity among own x 1 (previous, --new-slots 0)": buy_again,
            "buy again 26 w + popularity among own x 2": lists(replace(NEXT, own_popularity=2.0)),
            "co-purchase blend (own first)": lists(replace(NEW, exclude_purchased=False)),
        }
        for slots in (1, 2, 3, 4, 5):
            candidates[f"--new-slots {slots}: buy again + co-purchase blend"] = (
                recommending.reserve_new(buy_again, new_blend, slots, 10)
            )
        # The same candidates ordered by the rules (buy again for own products, the
        # co-purchase blend for new ones) or by the LightGBM rankers, then the slot policy.
        config = recommending_ranker.RankerConfig()
        pool = recommending_ranker.candidates(history, cutoff, config)
        by_rule = recommending_ranker.score(pool, recommending_ranker.Rankers(None, None))
        fitted = recommending_ranker.fit(history, cutoff, config)
        by_model = recommending_ranker.score(pool, fitted)
        weights = (SLOTS.model_weight_own, SLOTS.model_weight_new)
        by_blend = recommending_ranker.score(pool, fitted, weights)
        interleave = recommending_ranker.interleave
        policies = {"no slots": (0, (0, 0)), "1 slot": (1, (0, 0)), "2 slots": (2, (0, 0))}
        for slots, short in ((0, 4), (1, 3), (1, 4), (2, 4)):
            policies[f"{slots} slot(s), {short} if < 3 orders"] = (slots, (3, short))
        shipped = (SLOTS.new_slots, (SLOTS.short_orders, SLOTS.short_slots))
        for policy, (slots, short) in policies.items():
            candidates[f"rules + slot policy: {policy}"] = interleave(by_rule, 10, slots, short)
        candidates[
            f"shipped: own by buy again, new by ranker x {weights[1]} + blend, slots 1/4"
        ] = interleave(by_blend, 10, *shipped)
        for policy, (slots, short) in policies.items():
            if policy in ("no slots", "2 slots") or (slots, short) == shipped:
                candidates[f"LightGBM lambdarank + slot policy: {policy}"] = interleave(
                    by_model, 10, slots, short
                )
        rows = {}
        for name, frame in candidates.items():
            precision, _ = scores(frame, truth)
            _, hit_new = scores(frame, truth_new)
            rows[name] = {"precision@10": precision, "hit@10 new items": hit_new}
        table(f"recommend, cutoff {cutoff}, {weeks} weeks (one list)", rows)
        only = {
            "rule: popularity (not bought)": popular_new,
            "previous --new-only: co-purchase blend": new_blend,
            "LightGBM lambdarank, new candidates": interleave(
                by_model.filter(~pl.col("own")), 10, 10
            ),
            "co-purchase blend on the candidates": interleave(
                by_rule.filter(~pl.col("own")), 10, 10
            ),
            f"shipped: ranks of ranker x {weights[1]} + blend": interleave(
                by_blend.filter(~pl.col("own")), 10, 10
            ),
        }
        table(
            f"recommend --new-only, cutoff {cutoff}, {weeks} weeks",
            {name: {"hit@10 new items": scores(f, truth_new)[1]} for name, f in only.items()},
        )
        print(f"\n({time.perf_counter() - started:.0f} s)")


# --- forecast ------------------------------------------------------------------------------


def forecasts(tx: pl.DataFrame) -> None:
    for cutoff, weeks in FORECAST_FOLDS:
        history = demand_history(tx, cutoff)
        actual = actual_demand(tx, cutoff, weeks)
        top = (actual.group_by("sku").agg(pl.col("quantity").sum()).sort("quantity").tail(500))[
            "sku"
        ]
        candidates = {
            "shipped: SES + cap 3 + dormant 6 w": forecast(
                history, weeks, ForecastConfig()
            ).quantities,
            "previous: SES + cap 3 + dormant 13 w": forecast(
                history, weeks, ForecastConfig(dormant_weeks=13)
            ).quantities,
            "SES + cap 2 + dormant 6 w": forecast(
                history, weeks, ForecastConfig(cap_multiple=2.0)
            ).quantities,
            "rule: recent mean (8 w)": forecast(
                history,
                weeks,
                ForecastConfig(
                    level_method="mean", cap_multiple=None, dormant_weeks=None, calendar=False
                ),
            ).quantities,
            "rule: zero": np.zeros((len(history.skus), weeks)),
        }
        rows = {}
        for name, matrix in candidates.items():
            frame = _long(history.skus, matrix)
            wape, bias = wape_and_bias(frame, actual)
            wape_top, _ = wape_and_bias(
                frame.filter(pl.col("sku").is_in(top.implode())),
                actual.filter(pl.col("sku").is_in(top.implode())),
            )
            rows[name] = {"WAPE all": wape, "WAPE top 500": wape_top, "sum F / sum A": 1 + bias}
        table(f"forecast, cutoff {cutoff}, {weeks} weeks", rows)
    contract_run(tx)


def contract_run(tx: pl.DataFrame) -> None:
    """The contract's run from 2010-12-01 (no actuals here): weekly totals and the share of
    the forecast on lines whose sales are concentrated in the autumn (the top class of the
    year-ago index: their share in the last 13 weeks is over 4x their share before)."""
    start = date(2010, 12, 1)
    history = demand_history(tx, start)
    recent = history.demand[:, -13:].sum(axis=1) / max(history.demand[:, -13:].sum(), 1.0)
    before = history.demand[:, :-13].sum(axis=1) / max(history.demand[:, :-13].sum(), 1.0)
    autumn = recent > 4 * before
    print(f"\n### forecast from {start} (contract run; {int(autumn.sum())} autumn lines)\n")
    print(
        "| model | weekly totals (thousand units) | total | autumn lines' share, weeks 1-4 / 5-12 |"
    )
    print("| --- | --- | ---: | --- |")
    for name, config in {
        "shipped: class index": ForecastConfig(),
        "previous: own-share blend": ForecastConfig(season_shares="blend"),
    }.items():
        q = forecast(history, 12, config).quantities
        weekly = " ".join(f"{v / 1000:.1f}" for v in q.sum(axis=0))
        early = q[autumn, :4].sum() / q[:, :4].sum()
        late = q[autumn, 4:].sum() / q[:, 4:].sum()
        print(f"| {name} | {weekly} | {q.sum():,.0f} | {early:.3f} / {late:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--task", action="append", choices=["clv", "recommend", "forecast"])
    args = parser.parse_args()
    tx = read_source_file(args.data)
    tasks = args.task or ["clv", "recommend", "forecast"]
    if "clv" in tasks:
        clv(tx)
    if "recommend" in tasks:
        recommend(tx)
    if "forecast" in tasks:
        forecasts(tx)


if __name__ == "__main__":
    main()
