"""Weekly demand forecast per SKU for intermittent and seasonal demand.

The forecast of SKU s for period i is its demand level times a calendar factor:

* the level comes from its cleaned weekly history (cancelled sales removed, bulk outliers
  capped at a multiple of its typical selling week) through the level model chosen by
  evaluation (``docs/evaluation.md``);
* where the history holds the same weeks one year earlier (lag 52 weeks = 364 days, same
  weekdays), the forecast follows last year's shape: the store-wide demand of that week
  relative to the recent weeks, spread by the SKUs' recent shares times the year-ago index
  of their class (``class_index``: lines concentrated in the autumn follow last year's
  autumn lines after the peak, so Christmas lines sell before Christmas, not after);
  without a year of history the factor is 1 and the level is carried forward;
* lines that have not sold for ``dormant_weeks`` are treated as discontinued and forecast 0.

Everything is vectorised over the SKU x week matrix: no Python loop over SKUs or rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from omniretail.intelligence.transactions import (
    first_full_period,
    period_start,
    product_sales,
    week_index,
)

LevelMethod = Literal["mean", "ses", "tsb", "croston", "imapa"]
SEASON = 52
Matrix = NDArray[np.float64]


@dataclass(frozen=True)
class ForecastConfig:
    level_method: LevelMethod = "ses"
    level_weeks: int = 8  # window of "mean"/"median", and of the recent share
    alpha: float = 0.2  # smoothing of "ses"/"tsb"
    alpha_probability: float = 0.1  # "tsb": smoothing of the probability of a sale
    cap_multiple: float | None = 3.0  # None: no outlier cap
    dormant_weeks: int | None = 6  # None: never treated as discontinued
    calendar: bool = True
    seasonal_share_weight: float = 0.5
    history_weeks: int = 104
    # "class": each SKU's recent share times the year-ago index of its class of SKUs with a
    # similar autumn concentration; "blend": recent share blended with its own year-ago share.
    season_shares: Literal["class", "blend"] = "class"
    season_edges: tuple[float, ...] = (0.5, 0.8, 1.25, 2.0, 4.0)  # bins of the concentration
    season_recent_weeks: int = 13  # concentration: share in these weeks / share before them
    season_min_units: float = 500.0  # a class index is shrunk toward 1 below this many units


@dataclass
class DemandHistory:
    """Weekly net demand on the forecast grid: ``weeks[j]`` is period ``periods[j]`` (< 0)."""

    start: date
    skus: list[str]
    periods: NDArray[np.int64]
    demand: Matrix  # SKU x week, net of cancellations
    first_sale: NDArray[np.int64]  # first period with a sale, per SKU

    @property
    def empty(self) -> bool:
        return not self.skus or self.demand.shape[1] == 0


@dataclass
class Forecast:
    start: date
    skus: list[str]
    quantities: Matrix  # SKU x horizon period
    level: NDArray[np.float64]
    weekly_sd: NDArray[np.float64]
    calendar_factor: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def frame(self) -> pl.DataFrame:
        """Long frame ``sku, period_start, quantity`` (quantity >= 0), sorted."""
        horizon = self.quantities.shape[1]
        starts = [period_start(self.start, i) for i in range(horizon)]
        return pl.DataFrame(
            {
                "sku": np.repeat(np.array(self.skus, dtype=object), horizon),
                "period_start": starts * len(self.skus),
                "quantity": np.round(np.clip(self.quantities, 0, None), 3).ravel(),
            },
            schema={"sku": pl.String, "period_start": pl.Date, "quantity": pl.Float64},
        ).sort("sku", "period_start")


def demand_history(tx: pl.DataFrame, start: date, *, history_weeks: int = 104) -> DemandHistory:
    """Weekly net demand per SKU for the full periods of ``tx`` before ``start``."""
    history = tx.filter(pl.col("day") < start)
    first = max(first_full_period(history, start), -history_weeks)
    sales = product_sales(history).with_columns(period=week_index(pl.col("day"), start))
    weekly = (
        sales.filter(pl.col("period") >= first)
        .group_by("sku", "period")
        .agg(pl.col("quantity").sum())
    )
    skus = sorted(weekly["sku"].unique().to_list())
    periods = np.arange(first, 0, dtype=np.int64)
    demand = np.zeros((len(skus), len(periods)))
    if skus and len(periods):
        sku_index = pl.DataFrame({"sku": skus, "row": np.arange(len(skus))})
        cells = weekly.join(sku_index, on="sku")
        rows = cells["row"].to_numpy()
        cols = cells["period"].to_numpy() - first
        np.add.at(demand, (rows, cols), cells["quantity"].to_numpy().astype(np.float64))
    sold = demand > 0
    # With no full week of history there is nothing to take argmax over: no SKU has sold yet.
    first_sale = (
        np.where(sold.any(axis=1), sold.argmax(axis=1), len(periods)) + first
        if len(periods)
        else np.full(len(skus), first)
    )
    return DemandHistory(start, skus, periods, demand, first_sale.astype(np.int64))


def actual_demand(tx: pl.DataFrame, start: date, weeks: int) -> pl.DataFrame:
    """Net demand ``sku, period, quantity`` for periods 0..weeks-1 (evaluation ground truth)."""
    end = period_start(start, weeks)
    window = tx.filter(pl.col("day") < end)
    sales = product_sales(window).filter(pl.col("day") >= start)
    return (
        sales.with_columns(period=week_index(pl.col("day"), start))
        .group_by("sku", "period")
        .agg(pl.col("quantity").sum().cast(pl.Float64))
    )


def cap_outliers(demand: Matrix, multiple: float | None) -> Matrix:
    """Caps each SKU's weeks at ``multiple`` x its median selling week (one-off bulk orders)."""
    if multiple is None or demand.size == 0:
        return demand
    selling = np.where(demand > 0, demand, np.nan)
    with np.errstate(all="ignore"):
        typical = np.nanmedian(selling, axis=1)
    typical = np.nan_to_num(typical, nan=0.0)
    return np.asarray(np.minimum(demand, multiple * typical[:, None]), dtype=np.float64)


def level(demand: Matrix, config: ForecastConfig) -> NDArray[np.float64]:
    """Expected weekly demand per SKU at the end of the history (flat one-step forecast)."""
    if demand.shape[1] == 0:
        return np.zeros(demand.shape[0])
    if config.level_method == "mean":
        return np.asarray(demand[:, -config.level_weeks :].mean(axis=1))
    return _statsforecast_level(demand, config)


def _statsforecast_level(demand: Matrix, config: ForecastConfig) -> NDArray[np.float64]:
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import IMAPA, TSB, CrostonOptimized, SimpleExponentialSmoothing

    models = {
        "ses": SimpleExponentialSmoothing(alpha=config.alpha),
        "tsb": TSB(alpha_d=config.alpha, alpha_p=config.alpha_probability),
        "croston": CrostonOptimized(),
        "imapa": IMAPA(),
    }
    model = models[config.level_method]
    skus, weeks = demand.shape
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(skus), weeks),
            "ds": np.tile(np.arange(weeks), skus),
            "y": demand.ravel(),
        }
    )
    result: Any = StatsForecast(models=[model], freq=1, n_jobs=1).forecast(df=frame, h=1)
    values = result.sort_values("unique_id")[str(model)].to_numpy(dtype=np.float64)
    return np.asarray(np.nan_to_num(values, nan=0.0))


def calendar_profile(
    history: DemandHistory, cleaned: Matrix, horizon: int, config: ForecastConfig
) -> tuple[NDArray[np.float64], NDArray[np.bool_], Matrix]:
    """Last year's store-wide weekly demand relative to the recent weeks, per horizon period,
    whether last year's week exists, and each SKU's share around that week last year."""
    factors = np.ones(horizon)
    known = np.zeros(horizon, dtype=bool)
    shares = np.zeros((cleaned.shape[0], horizon))
    if not config.calendar or cleaned.shape[1] == 0:
        return factors, known, shares
    total = cleaned.sum(axis=0)
    recent = total[-config.level_weeks :].mean()
    first = int(history.periods[0])
    for i in range(horizon):
        lag = i - SEASON - first  # column of period i - 52
        if lag < 0 or lag >= cleaned.shape[1] or recent <= 0:
            continue
        known[i] = True
        factors[i] = total[lag] / recent
        around = slice(max(lag - 1, 0), min(lag + 2, cleaned.shape[1]))
        denominator = total[around].sum()
        if denominator > 0:
            shares[:, i] = cleaned[:, around].sum(axis=1) / denominator
    return factors, known, shares


def forecast(
    history: DemandHistory, horizon: int, config: ForecastConfig | None = None
) -> Forecast:
    config = config or ForecastConfig()
    if history.empty:
        return Forecast(
            history.start,
            list(history.skus),
            np.zeros((len(history.skus), horizon)),
            np.zeros(len(history.skus)),
            np.zeros(len(history.skus)),
        )
    cleaned = cap_outliers(history.demand, config.cap_multiple)
    levels = level(cleaned, config)
    if config.dormant_weeks is not None:
        recent_sales = cleaned[:, -config.dormant_weeks :].sum(axis=1)
        levels = np.where(recent_sales > 0, levels, 0.0)
    quantities = np.repeat(levels[:, None], horizon, axis=1)
    factors, known, last_year_shares = calendar_profile(history, cleaned, horizon, config)
    if known.any() and config.season_shares == "class":
        index = class_index(history, cleaned, levels, known, config)
        total = cleaned.sum(axis=0)
        recent_total = total[-config.level_weeks :].mean()
        for i in np.flatnonzero(known):
            weighted = levels * index[:, i]
            if weighted.sum() > 0:
                quantities[:, i] = (
                    weighted
                    / weighted.sum()
                    * levels.sum()
                    / recent_total
                    * (factors[i] * recent_total)
                )
    elif known.any():
        total = cleaned.sum(axis=0)
        recent_total = total[-config.level_weeks :].mean()
        recent_share = levels / recent_total
        for i in np.flatnonzero(known):
            lag_period = i - SEASON
            existed = history.first_sale <= lag_period - 4
            weight = np.where(existed, config.seasonal_share_weight, 0.0)
            share = (1 - weight) * recent_share + weight * last_year_shares[:, i]
            share = np.where(levels > 0, share, 0.0)
            quantities[:, i] = share * factors[i] * recent_total
    spread = cleaned[:, -26:].std(axis=1)
    return Forecast(history.start, history.skus, quantities, levels, spread, factors)


def class_index(
    history: DemandHistory,
    cleaned: Matrix,
    levels: NDArray[np.float64],
    known: NDArray[np.bool_],
    config: ForecastConfig,
) -> Matrix:
    """SKU x horizon multiplier of the recent share: the year-ago share of the SKU's class
    around the same week over the class's recent share. Classes are bins of the autumn
    concentration (share in the last ``season_recent_weeks`` over the share in the weeks
    before), so a new Christmas line follows last year's Christmas lines after the peak.
    Only SKUs that sold in the first four weeks of the history (they existed a year ago)
    measure the index; the index is shrunk toward 1 for classes with few units."""
    skus, weeks = cleaned.shape
    horizon = known.shape[0]
    index = np.ones((skus, horizon))
    recent = config.season_recent_weeks
    if weeks < recent + 8:
        return index
    total = cleaned.sum(axis=0)
    with np.errstate(all="ignore"):
        late = cleaned[:, -recent:].sum(axis=1) / total[-recent:].sum()
        early = cleaned[:, :-recent].sum(axis=1) / total[:-recent].sum()
        ratio = np.where(early > 0, late / early, np.inf)
    bins = np.digitize(ratio, np.asarray(config.season_edges))
    existed = cleaned[:, :4].sum(axis=1) > 0
    now = total[-config.level_weeks :].sum()
    first = int(history.periods[0])
    for i in np.flatnonzero(known):
        lag = i - SEASON - first
        around = slice(max(lag - 1, 0), min(lag + 2, weeks))
        then = total[around].sum()
        if then <= 0 or now <= 0:
            continue
        for b in np.unique(bins):
            members = (bins == b) & existed
            units_then = cleaned[members, around].sum()
            units_now = cleaned[members, -config.level_weeks :].sum()
            if units_now <= 0:
                continue
            raw = (units_then / then) / (units_now / now)
            weight = min(units_now / config.season_min_units, 1.0)
            index[bins == b, i] = min(weight * raw + (1 - weight), 1.0)
    return index
