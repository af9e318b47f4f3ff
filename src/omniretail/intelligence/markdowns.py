"""Markdown suggestions for slow stock: the price response and the ladder optimiser (pure).

**Price response.** The order history's own price variation: the same product sells at
different unit prices over time. Quantity tiers (wholesale buyers pay less per unit on large
lines) would make any line-level fit read "lower price, more units" from the tier itself, so
the weekly *shelf price* of a product is the median unit price of its lines with fewer than
``small_quantity`` units bought by registered customers (guest lines carry a different price
book). Weekly units are all net units sold. On the product x week panel

    log(units[i, t]) = a[i] + w[t] + b * log(price[i, t]) + e[i, t]

is fitted by ordinary least squares with product fixed effects ``a`` and week fixed effects
``w`` (the seasons and the store's weekly swings; two-way within transformation by alternating
demeaning), pooled over products: ``b`` is the constant price elasticity. Its standard error is
clustered by product (weeks of one product are not independent). The fit is checked on the
last ``holdout_weeks`` before the cut, which the estimate never sees: each product's log units
predicted as its training mean plus ``b`` times its log price change from its training mean,
against the same prediction without the price term (the no-price-effect baseline), by RMSE.

**Ladder.** Expected units in week t at discount d are ``forecast[t] * (1 - d) ** b``, sold
until the stock runs out. Every ladder the guardrails allow is enumerated (non-decreasing
discounts from ``levels``, changed only every ``weeks_per_step`` weeks, no step larger than
``max_step``, at most ``max_steps_per_month`` changes in any four weeks, never below
``floor_fraction`` of the full price nor below the unit cost when it is known); the chosen
ladder maximises expected revenue (margin when the cost is known) among those that clear the
stock by the clear-by date (at most ``clear_share`` of it left), else leaves the least stock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import numpy as np
import polars as pl
from numpy.typing import NDArray

from omniretail.intelligence.transactions import product_sales, week_index

Vector = NDArray[np.float64]
DEFAULT_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


@dataclass(frozen=True)
class Guardrails:
    levels: tuple[float, ...] = DEFAULT_LEVELS
    floor_fraction: float = 0.5  # never below this share of the full price
    max_step: float = 0.2  # largest single cut, as a share of the full price
    max_steps_per_month: int = 2  # changes in any four consecutive weeks
    weeks_per_step: int = 2  # a price holds at least this many weeks
    clear_share: float = 0.05  # "cleared": at most this share of the stock left


@dataclass(frozen=True)
class MarkdownConfig:
    weeks: int = 8  # from the start to the clear-by date
    min_excess_share: float = 0.2  # a candidate is expected to leave this share unsold
    min_excess_units: int = 5
    small_quantity: int = 12
    holdout_weeks: int = 8
    min_weeks: int = 4  # weeks with sales a product needs to enter the fit
    elasticity_bounds: tuple[float, float] = (-4.0, -0.5)  # used in the ladder (clipped)
    guardrails: Guardrails = field(default_factory=Guardrails)


@dataclass(frozen=True)
class Elasticity:
    coefficient: float
    std_error: float
    observations: int
    products: int
    weeks: int
    holdout_observations: int
    holdout_rmse: float
    baseline_rmse: float
    method: str = (
        "log-log OLS, product and week fixed effects, pooled; SE clustered by product;"
        " shelf price = median unit price of registered lines under the quantity tier"
    )

    @property
    def ci95(self) -> tuple[float, float]:
        return (self.coefficient - 1.96 * self.std_error, self.coefficient + 1.96 * self.std_error)

    def as_dict(self) -> dict[str, object]:
        low, high = self.ci95
        return {
            "coefficient": _finite(self.coefficient),
            "std_error": _finite(self.std_error),
            "ci95": [_finite(low), _finite(high)],
            "observations": self.observations,
            "products": self.products,
            "weeks": self.weeks,
            "holdout_observations": self.holdout_observations,
            "holdout_rmse": _finite(self.holdout_rmse),
            "baseline_rmse": _finite(self.baseline_rmse),
            "method": self.method,
        }


def _finite(value: float) -> float | None:
    """Rounded, or None where JSON has no number (no fit: infinite error, no holdout)."""
    return round(value, 4) if np.isfinite(value) else None


# --- the price response ------------------------------------------------------------------


def weekly_panel(tx: pl.DataFrame, start: date, *, small_quantity: int = 12) -> pl.DataFrame:
    """``sku, period, units, price`` for product-weeks before ``start`` with a shelf price."""
    sales = product_sales(tx.filter(pl.col("day") < start)).with_columns(
        period=week_index(pl.col("day"), start)
    )
    units = sales.group_by("sku", "period").agg(units=pl.col("quantity").sum().cast(pl.Float64))
    shelf = (
        sales.filter(pl.col("customer_id").is_not_null() & (pl.col("quantity") < small_quantity))
        .group_by("sku", "period")
        .agg(price=pl.col("unit_price").median())
    )
    return (
        units.join(shelf, on=["sku", "period"], how="inner")
        .filter((pl.col("units") > 0) & (pl.col("price") > 0))
        .sort("sku", "period")
    )


def _demean(frame: pl.DataFrame, columns: list[str], rounds: int = 12) -> pl.DataFrame:
    """Two-way within transformation (product, week) of an unbalanced panel."""
    for _ in range(rounds):
        frame = frame.with_columns(
            [(pl.col(c) - pl.col(c).mean().over("sku")).alias(c) for c in columns]
        ).with_columns([(pl.col(c) - pl.col(c).mean().over("period")).alias(c) for c in columns])
    return frame


def estimate_elasticity(
    panel: pl.DataFrame, *, holdout_weeks: int = 8, min_weeks: int = 4
) -> Elasticity:
    """Fits on the periods before the last ``holdout_weeks`` of ``panel``; evaluates on them."""
    logged = panel.with_columns(lq=pl.col("units").log(), lp=pl.col("price").log())
    last: int = logged.select(pl.col("period").max()).item() if logged.height else 0
    cut = last - holdout_weeks + 1
    train = logged.filter(pl.col("period") < cut)
    counts = train.group_by("sku").agg(n=pl.len(), spread=pl.col("lp").max() - pl.col("lp").min())
    keep = counts.filter((pl.col("n") >= min_weeks) & (pl.col("spread") > 0))["sku"]
    train = train.filter(pl.col("sku").is_in(keep.implode()))
    if train.height < 3:
        return Elasticity(0.0, float("inf"), train.height, 0, 0, 0, float("nan"), float("nan"))
    within = _demean(train.select("sku", "period", "lq", "lp"), ["lq", "lp"])
    x = within["lp"].to_numpy()
    y = within["lq"].to_numpy()
    xx = float(x @ x)
    b = float(x @ y) / xx
    residual = y - b * x
    scores = (
        within.with_columns(score=pl.Series(x * residual))
        .group_by("sku")
        .agg(pl.col("score").sum())
    )
    groups = scores.height
    correction = groups / max(groups - 1, 1) * (len(x) - 1) / max(len(x) - 2, 1)
    se = float(np.sqrt(correction * float((scores["score"].to_numpy() ** 2).sum())) / xx)
    means = train.group_by("sku").agg(a=pl.col("lq").mean(), pbar=pl.col("lp").mean())
    test = logged.filter(pl.col("period") >= cut).join(means, on="sku", how="inner")
    if test.height:
        actual = test["lq"].to_numpy()
        with_price = test["a"].to_numpy() + b * (test["lp"].to_numpy() - test["pbar"].to_numpy())
        rmse = float(np.sqrt(np.mean((actual - with_price) ** 2)))
        baseline = float(np.sqrt(np.mean((actual - test["a"].to_numpy()) ** 2)))
    else:
        rmse = baseline = float("nan")
    return Elasticity(
        coefficient=b,
        std_error=se,
        observations=len(x),
        products=groups,
        weeks=train["period"].n_unique(),
        holdout_observations=test.height,
        holdout_rmse=rmse,
        baseline_rmse=baseline,
    )


# --- the ladder ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ladder:
    """One SKU x location's plan: a discount per week and what it is expected to do."""

    discounts: Vector  # per week, share of the full price off
    units: Vector  # expected units per week
    revenue: float
    margin: float | None
    leftover: float
    clears: bool
    baseline_units: float
    baseline_revenue: float

    def steps(self) -> list[tuple[int, int, float]]:
        """(first week, weeks, discount) of each run of one price."""
        found: list[tuple[int, int, float]] = []
        for week, discount in enumerate(self.discounts.tolist()):
            if found and abs(found[-1][2] - discount) < 1e-9:
                first, weeks, _ = found[-1]
                found[-1] = (first, weeks + 1, discount)
            else:
                found.append((week, 1, float(discount)))
        return found


@lru_cache(maxsize=64)
def candidate_ladders(weeks: int, rails: Guardrails, max_discount: float) -> NDArray[np.float64]:
    """Every ladder (row: discount per week) the guardrails allow, the no-markdown one first."""
    levels = [d for d in sorted(set(rails.levels)) if d <= max_discount + 1e-9]
    if 0.0 not in levels:
        levels = [0.0, *levels]
    blocks = -(-weeks // rails.weeks_per_step)
    found: list[list[float]] = []

    def grow(prefix: list[float]) -> None:
        if len(prefix) == blocks:
            found.append(prefix)
            return
        previous = prefix[-1] if prefix else 0.0
        for level in levels:
            if level < previous - 1e-9 or level - previous > rails.max_step + 1e-9:
                continue
            grow([*prefix, level])

    grow([])
    ladders = np.repeat(np.array(found, dtype=np.float64), rails.weeks_per_step, axis=1)[:, :weeks]
    changes = np.diff(np.concatenate([np.zeros((len(ladders), 1)), ladders], axis=1), axis=1) > 0
    window = min(4, weeks)
    kernel = np.ones(window)
    per_month = np.array([np.convolve(row, kernel, mode="valid").max() for row in changes])
    return ladders[per_month <= rails.max_steps_per_month]


def simulate(
    ladders: NDArray[np.float64], stock: float, demand: Vector, elasticity: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Expected units per ladder and week, and the stock left after each ladder."""
    lift = np.power(1.0 - ladders, elasticity)
    wanted = demand[None, : ladders.shape[1]] * lift
    remaining = np.full(len(ladders), float(stock))
    units = np.zeros_like(wanted)
    for week in range(ladders.shape[1]):
        sold = np.minimum(remaining, wanted[:, week])
        units[:, week] = sold
        remaining = remaining - sold
    return units, remaining


def optimise(
    stock: float,
    demand: Vector,
    full_price: float,
    elasticity: float,
    rails: Guardrails,
    *,
    unit_cost: float | None = None,
) -> Ladder:
    """The best ladder for ``stock`` units with weekly full-price ``demand`` (module doc)."""
    weeks = len(demand)
    floor = rails.floor_fraction * full_price
    if unit_cost is not None:
        floor = max(floor, unit_cost)
    max_discount = max(0.0, 1.0 - floor / full_price) if full_price > 0 else 0.0
    ladders = candidate_ladders(weeks, rails, round(max_discount, 6))
    units, left = simulate(ladders, stock, np.asarray(demand, dtype=np.float64), elasticity)
    prices = full_price * (1.0 - ladders)
    revenue = (units * prices).sum(axis=1)
    margin = ((prices - unit_cost) * units).sum(axis=1) if unit_cost is not None else None
    objective = margin if margin is not None else revenue
    clears = left <= rails.clear_share * stock + 1e-9
    if clears.any():
        best = int(np.flatnonzero(clears)[np.argmax(objective[clears])])
    else:
        least = left.min()
        near = np.flatnonzero(left <= least + 1e-9)
        best = int(near[np.argmax(objective[near])])
    return Ladder(
        discounts=ladders[best],
        units=units[best],
        revenue=float(revenue[best]),
        margin=float(margin[best]) if margin is not None else None,
        leftover=float(left[best]),
        clears=bool(clears[best]),
        baseline_units=float(units[0].sum()),
        baseline_revenue=float(revenue[0]),
    )


# --- candidates ----------------------------------------------------------------------------


def candidates(
    stock: pl.DataFrame, weekly: pl.DataFrame, weeks: int, config: MarkdownConfig
) -> pl.DataFrame:
    """SKU x location pairs with more stock than they are expected to sell by the clear-by date.

    ``stock``: sku, location, on_hand. ``weekly``: sku, location, demand (units over the
    ``weeks`` at full price). Pairs forecast to sell nothing are left out: no price response
    can be estimated for them (they stay in the replenishment plan's overstock report)."""
    return (
        stock.filter(pl.col("on_hand") > 0)
        .join(weekly, on=["sku", "location"], how="inner")
        .filter(pl.col("demand") > 0)
        .with_columns(
            excess=pl.col("on_hand") - pl.col("demand"),
            cover_weeks=pl.col("on_hand") / (pl.col("demand") / weeks),
        )
        .filter(
            (pl.col("excess") >= config.min_excess_units)
            & (pl.col("excess") >= config.min_excess_share * pl.col("on_hand"))
        )
        .sort("excess", descending=True)
    )


def clip_elasticity(value: float, config: MarkdownConfig) -> float:
    low, high = config.elasticity_bounds
    return float(min(max(value, low), high))
