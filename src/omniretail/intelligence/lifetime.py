"""Customer lifetime value and churn: MBG/NBD for purchase counts, Gamma-Gamma for spend.

Probabilistic buy-till-you-die models (BG/NBD: Fader, Hardie & Lee 2005; its modification
MBG/NBD: Batislam, Denizel & Filiztekin 2007; Gamma-Gamma: Fader & Hardie 2013), fitted
by maximum likelihood with scipy. ``lifetimes`` implemented them but is archived and fails on
current pandas/numpy; ``pymc-marketing`` needs the whole PyMC stack. The likelihoods are short
and the closed forms below are the papers' equations, vectorised over customers. MBG/NBD,
not BG/NBD: BG/NBD deems every one-time buyer certainly alive, which on this log ranked churn
worse than chance (``docs/evaluation.md``); MBG/NBD lets a customer drop out after any
purchase, the first included.

A customer's history is summarised by (frequency x = repeat purchase days, recency t_x =
weeks from first to last purchase day, age T = weeks from first purchase to the cutoff,
monetary m = mean net revenue of the repeat purchase days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray

from omniretail.intelligence.transactions import product_sales

# SciPy's optimize and special are imported where a model is fitted or predicts, not with the
# package: every command and server process would pay for them.

Array = NDArray[np.float64]


def customer_summary(tx: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """``customer_id, customer_number, frequency, recency, age, monetary, first_day, last_day,
    orders, revenue`` for customers with a net purchase before ``as_of`` (weeks as floats).

    Uses product sale lines net of cancellations (postage and other charges are not spend)."""
    sales = product_sales(tx.filter(pl.col("day") < as_of)).filter(
        pl.col("customer_id").is_not_null()
    )
    days = sales.group_by("customer_id", "day").agg(
        pl.col("revenue").sum(),
        pl.col("order_number").n_unique().alias("orders"),
        pl.col("customer_number").first(),
    )
    summary = (
        days.sort("day")
        .group_by("customer_id")
        .agg(
            pl.col("customer_number").first(),
            pl.len().alias("days"),
            pl.col("orders").sum(),
            pl.col("revenue").sum(),
            pl.col("revenue").slice(1).mean().alias("monetary"),
            pl.col("day").min().alias("first_day"),
            pl.col("day").max().alias("last_day"),
        )
        .with_columns(
            frequency=(pl.col("days") - 1).cast(pl.Float64),
            recency=(pl.col("last_day") - pl.col("first_day")).dt.total_days() / 7.0,
            age=(pl.lit(as_of) - pl.col("first_day")).dt.total_days() / 7.0,
            monetary=pl.col("monetary").fill_null(0.0),
        )
    )
    return summary.sort("customer_id")


@dataclass(frozen=True)
class BetaGeoParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float


def _mbgnbd_log_likelihood(params: Array, x: Array, t_x: Array, age: Array) -> float:
    from scipy import special

    r, alpha, a, b = np.exp(params)
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) - special.betaln(a, b)
    still_alive = special.betaln(a, b + x + 1) - (r + x) * np.log(alpha + age)
    dropped = special.betaln(a + 1, b + x) - (r + x) * np.log(alpha + t_x)
    return float(-(common + np.logaddexp(still_alive, dropped)).sum())


def fit_bgnbd(x: Array, t_x: Array, age: Array) -> BetaGeoParams:
    """Maximum likelihood within bounds: on a few months of history the unbounded optimum can
    run to a = b = 0 (nobody ever churns), where the closed forms break down."""
    from scipy import optimize

    def objective(params: Array) -> float:
        return _mbgnbd_log_likelihood(params, x, t_x, age) / len(x)

    start = np.log(np.array([0.5, max(float(np.mean(age)), 1.0), 1.5, 3.0]))
    bounds = [
        (np.log(1e-3), np.log(1e3)),
        (np.log(1e-3), np.log(1e4)),
        (np.log(1.01), np.log(1e2)),
        (np.log(1e-2), np.log(1e3)),
    ]
    result = optimize.minimize(objective, start, method="L-BFGS-B", bounds=bounds)
    r, alpha, a, b = np.exp(result.x)
    return BetaGeoParams(float(r), float(alpha), float(a), float(b))


def expected_purchases(
    params: BetaGeoParams, x: Array, t_x: Array, age: Array, horizon: float
) -> Array:
    """E[purchases in (age, age + horizon] | x, t_x, age] (Batislam et al. 2007, eq. 7)."""
    from scipy import special

    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = horizon / (alpha + age + horizon)
    hyper = special.hyp2f1(r + x, b + x + 1, a + b + x, z)
    decay = ((alpha + age) / (alpha + age + horizon)) ** (r + x)
    expected = (a + b + x) / (a - 1) * (1 - decay * hyper)
    return np.asarray(np.maximum(expected * probability_alive(params, x, t_x, age), 0.0))


def probability_alive(params: BetaGeoParams, x: Array, t_x: Array, age: Array) -> Array:
    """P(still a customer at the cutoff | history); below 1 even without a repeat purchase."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    ratio = a / (b + x) * ((alpha + age) / (alpha + t_x)) ** (r + x)
    return np.asarray(1.0 / (1.0 + ratio))


def fit_gamma_gamma(frequency: Array, monetary: Array) -> GammaGammaParams:
    from scipy import optimize, special

    keep = (frequency > 0) & (monetary > 0)
    x, m = frequency[keep], monetary[keep]

    def objective(params: Array) -> float:
        p, q, v = np.exp(params)
        total = (
            special.gammaln(p * x + q)
            - special.gammaln(p * x)
            - special.gammaln(q)
            + q * np.log(v)
            + (p * x - 1) * np.log(m)
            + p * x * np.log(x)
            - (p * x + q) * np.log(x * m + v)
        )
        return float(-total.mean())

    start = np.log(np.array([2.0, 3.0, max(float(np.mean(m)), 1.0)]))
    result = optimize.minimize(objective, start, method="Nelder-Mead", options={"maxiter": 4000})
    p, q, v = np.exp(result.x)
    return GammaGammaParams(float(p), float(q), float(v))


def expected_spend(params: GammaGammaParams, frequency: Array, monetary: Array) -> Array:
    """E[mean spend per purchase | x, m]: shrinks each customer's mean to the population's."""
    p, q, v = params.p, params.q, params.v
    population = p * v / (q - 1) if q > 1 else float(np.mean(monetary[monetary > 0]) or 0.0)
    weight = p * frequency / (p * frequency + q - 1) if q > 1 else frequency / (frequency + 1)
    return np.asarray(
        np.where(frequency > 0, (1 - weight) * population + weight * monetary, population)
    )


@dataclass
class LifetimeModel:
    purchases: BetaGeoParams
    spend: GammaGammaParams


def fit(summary: pl.DataFrame) -> LifetimeModel:
    x = summary["frequency"].to_numpy()
    t_x = summary["recency"].to_numpy()
    age = summary["age"].to_numpy()
    return LifetimeModel(
        fit_bgnbd(x, t_x, age),
        fit_gamma_gamma(x, summary["monetary"].to_numpy()),
    )


def predict(
    model: LifetimeModel, summary: pl.DataFrame, horizon_weeks: float, calendar_factor: float = 1.0
) -> pl.DataFrame:
    """``customer_id, customer_number, expected_purchases, expected_revenue, p_alive``.

    ``calendar_factor`` scales revenue for the season of the horizon (1: an average period)."""
    x = summary["frequency"].to_numpy()
    t_x = summary["recency"].to_numpy()
    age = summary["age"].to_numpy()
    purchases = expected_purchases(model.purchases, x, t_x, age, horizon_weeks) * calendar_factor
    spend = expected_spend(model.spend, x, summary["monetary"].to_numpy())
    return summary.select("customer_id", "customer_number").with_columns(
        expected_purchases=pl.Series(purchases),
        expected_revenue=pl.Series(purchases * spend),
        p_alive=pl.Series(probability_alive(model.purchases, x, t_x, age)),
    )


# --- the learned alternative -------------------------------------------------------------

FEATURES = [
    "frequency",
    "recency",
    "weeks_since_last",
    "age",
    "monetary",
    "orders",
    "revenue",
    "recent_revenue",
    "recent_days",
    "skus",
    "mbg_purchases",
    "mbg_alive",
]


def features(tx: pl.DataFrame, as_of: date, horizon_weeks: float) -> pl.DataFrame:
    """One row per customer with a purchase before ``as_of``: RFM figures, recent activity and
    the MBG/NBD predictions as inputs."""
    summary = customer_summary(tx, as_of)
    if summary.is_empty():
        return summary.with_columns(
            [pl.lit(0.0).alias(name) for name in FEATURES if name not in summary.columns]
        )
    model = fit(summary)
    predicted = predict(model, summary, horizon_weeks)
    window_start = as_of - timedelta(weeks=horizon_weeks)
    recent = (
        product_sales(tx.filter((pl.col("day") < as_of) & (pl.col("day") >= window_start)))
        .filter(pl.col("customer_id").is_not_null())
        .group_by("customer_id")
        .agg(
            pl.col("revenue").sum().alias("recent_revenue"),
            pl.col("day").n_unique().cast(pl.Float64).alias("recent_days"),
        )
    )
    skus = (
        product_sales(tx.filter(pl.col("day") < as_of))
        .filter(pl.col("customer_id").is_not_null())
        .group_by("customer_id")
        .agg(pl.col("sku").n_unique().cast(pl.Float64).alias("skus"))
    )
    return (
        summary.join(recent, on="customer_id", how="left")
        .join(skus, on="customer_id", how="left")
        .join(
            predicted.select(
                "customer_id",
                pl.col("expected_purchases").alias("mbg_purchases"),
                pl.col("p_alive").alias("mbg_alive"),
            ),
            on="customer_id",
        )
        .with_columns(
            pl.col("recent_revenue", "recent_days").fill_null(0.0),
            pl.col("orders").cast(pl.Float64),
            weeks_since_last=pl.col("age") - pl.col("recency"),
        )
    )


def outcomes(tx: pl.DataFrame, start: date, horizon_weeks: float) -> pl.DataFrame:
    """``customer_id, revenue_next, active_next`` over ``horizon_weeks`` from ``start``."""
    end = start + timedelta(weeks=horizon_weeks)
    sales = product_sales(tx.filter(pl.col("day") < end)).filter(
        (pl.col("day") >= start) & pl.col("customer_id").is_not_null()
    )
    return sales.group_by("customer_id").agg(pl.col("revenue").sum().alias("revenue_next"))


def training_origins(tx: pl.DataFrame, as_of: date, horizon_weeks: int) -> list[date]:
    """Origins whose outcome windows end on or before ``as_of`` (the latest first), each with
    at least 4 weeks of history before it."""
    first_day: date | None = tx.filter(pl.col("day") < as_of).select(pl.col("day").min()).item()
    if first_day is None:
        return []
    origins = []
    for step in range(4):
        origin = as_of - timedelta(weeks=horizon_weeks + 4 * step)
        if origin >= first_day + timedelta(weeks=4):
            origins.append(origin)
    return origins


def predict_boosted(tx: pl.DataFrame, as_of: date, horizon_weeks: int) -> pl.DataFrame | None:
    """Gradient-boosted revenue and activity over the next ``horizon_weeks``, learned from
    earlier windows of the same history (None when the history is too short to learn from).

    Columns as ``predict``; revenue is calibrated to the weeks it was learned on."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    origins = training_origins(tx, as_of, horizon_weeks)
    if not origins:
        return None
    frames = []
    for origin in origins:
        known = features(tx, origin, horizon_weeks)
        outcome = outcomes(tx, origin, horizon_weeks)
        frames.append(
            known.join(outcome, on="customer_id", how="left").with_columns(
                pl.col("revenue_next").fill_null(0.0)
            )
        )
    train = pl.concat(frames, how="vertical_relaxed")
    labels = train["revenue_next"].to_numpy()
    active = (labels > 0).astype(np.int64)
    if train.height < 50 or active.min() == active.max():
        return None
    inputs = train.select(FEATURES).to_numpy()
    revenue_model = HistGradientBoostingRegressor(
        loss="poisson", max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=0
    ).fit(inputs, np.clip(labels, 0.0, None))
    activity_model = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=0
    ).fit(inputs, active)
    now = features(tx, as_of, horizon_weeks)
    current = now.select(FEATURES).to_numpy()
    shares = revenue_model.predict(current)
    # The trees rank well but their scale drifts with history length: spread the recent
    # window's revenue by the predicted shares instead.
    total = float(now["recent_revenue"].sum())
    revenue = shares / shares.sum() * total if shares.sum() > 0 else shares
    return now.select("customer_id", "customer_number").with_columns(
        expected_purchases=now["mbg_purchases"],
        expected_revenue=pl.Series(revenue),
        p_alive=pl.Series(activity_model.predict_proba(current)[:, 1]),
    )


# --- the shipped model: spend x probability of being active -----------------------------

ACTIVITY_FEATURES = [
    "since_last",
    "since_first",
    "n_days",
    "n13",
    "n26",
    "revenue",
    "revenue13",
    "revenue26",
    "skus",
    "gap",
    "rate",
]


def activity_features(tx: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per customer with a purchase before ``as_of``: days since last and first purchase,
    purchase days (all, last 13 and 26 weeks), net revenue (same windows), distinct SKUs,
    mean gap between purchase days and revenue per day of tenure."""
    sales = product_sales(tx.filter(pl.col("day") < as_of)).filter(
        pl.col("customer_id").is_not_null()
    )
    days = sales.group_by("customer_id", "day").agg(
        pl.col("revenue").sum(), pl.col("customer_number").first()
    )
    age = (pl.lit(as_of) - pl.col("day")).dt.total_days()
    summary = days.group_by("customer_id").agg(
        pl.col("customer_number").first(),
        since_last=age.min().cast(pl.Float64),
        since_first=age.max().cast(pl.Float64),
        n_days=pl.len().cast(pl.Float64),
        n13=(age < 91).sum().cast(pl.Float64),
        n26=(age < 182).sum().cast(pl.Float64),
        revenue=pl.col("revenue").sum(),
        revenue13=pl.col("revenue").filter(age < 91).sum(),
        revenue26=pl.col("revenue").filter(age < 182).sum(),
    )
    skus = sales.group_by("customer_id").agg(skus=pl.col("sku").n_unique().cast(pl.Float64))
    return (
        summary.join(skus, on="customer_id")
        .with_columns(
            gap=(pl.col("since_first") - pl.col("since_last"))
            / (pl.col("n_days") - 1).clip(lower_bound=1),
            rate=pl.col("revenue") / (pl.col("since_first") + 7),
        )
        .sort("customer_id")
    )


def predict_spend_activity(
    tx: pl.DataFrame, as_of: date, horizon_weeks: int
) -> pl.DataFrame | None:
    """Revenue over the next ``horizon_weeks`` = the last year's spend rate (its recent half
    counted twice) x P(active).

    P(active) is a logistic regression on ``log1p`` of ``activity_features``, learned on one
    earlier origin: ``as_of`` minus the training horizon, which is the horizon capped at half
    the history (a year of history and a 52-week horizon learn on the last 26 weeks). Chosen
    on the in-year validation (``benchmarks/intel_validation.py``): it beat recency on ROC
    AUC and the spend rule on Spearman there. None when the history is too short."""
    from sklearn.linear_model import LogisticRegression

    first_day: date | None = tx.filter(pl.col("day") < as_of).select(pl.col("day").min()).item()
    if first_day is None:
        return None
    history_weeks = (as_of - first_day).days // 7
    train_weeks = min(horizon_weeks, history_weeks // 2)
    if train_weeks < 2:
        return None
    origin = as_of - timedelta(weeks=train_weeks)
    train = activity_features(tx, origin).join(
        outcomes(tx, origin, train_weeks), on="customer_id", how="left"
    )
    active = (train["revenue_next"].fill_null(0.0).to_numpy() > 0).astype(np.int64)
    if train.height < 20 or active.min() == active.max():
        return None
    model = LogisticRegression(max_iter=2000).fit(_log_inputs(train), active)
    now = activity_features(tx, as_of)
    p_active = model.predict_proba(_log_inputs(now))[:, 1]
    # Spend per week over the last year (all of a shorter history), its recent half counted
    # twice, times the horizon. Per store-week, not per customer's tenure: a rate per tenure
    # ranked worse; counting the recent half twice ranked better on both folds.
    weeks = max(min(history_weeks, 52), 2)
    spend = now.select("customer_id").join(
        _recent_spend(tx, as_of, weeks), on="customer_id", how="left"
    )
    weighted = spend["spend"].fill_null(0.0).to_numpy() + spend["half"].fill_null(0.0).to_numpy()
    weekly = weighted / (weeks + weeks // 2)
    purchases = now["n26"].to_numpy() / float(max(min(history_weeks, 26), 1))
    return now.select("customer_id", "customer_number").with_columns(
        expected_purchases=pl.Series(purchases * horizon_weeks * p_active),
        expected_revenue=pl.Series(weekly * horizon_weeks * p_active),
        p_alive=pl.Series(p_active),
    )


def _recent_spend(tx: pl.DataFrame, as_of: date, weeks: int) -> pl.DataFrame:
    """``customer_id, spend, half``: net revenue over the last ``weeks`` and its last half."""
    start = as_of - timedelta(weeks=weeks)
    middle = as_of - timedelta(weeks=weeks // 2)
    return (
        product_sales(tx.filter((pl.col("day") < as_of) & (pl.col("day") >= start)))
        .filter(pl.col("customer_id").is_not_null())
        .group_by("customer_id")
        .agg(
            spend=pl.col("revenue").sum(),
            half=pl.col("revenue").filter(pl.col("day") >= middle).sum(),
        )
    )


def _log_inputs(frame: pl.DataFrame) -> NDArray[np.float64]:
    values = frame.select(ACTIVITY_FEATURES).to_numpy().astype(np.float64)
    return np.asarray(np.log1p(np.clip(values, 0.0, None)), dtype=np.float64)
