"""The year-ago class index: lines that sold in last year's peak and not after it are sent
down after this year's peak; the week's total goes to the lines that sold through the year."""

from __future__ import annotations

from datetime import date

import numpy as np

from omniretail.intelligence.forecasting import DemandHistory, ForecastConfig, forecast

WEEKS = 60  # periods -60..-1: last year's weeks -52.. are columns 8..


def _history() -> DemandHistory:
    steady = np.full(WEEKS, 50.0)
    seasonal = np.zeros(WEEKS)
    seasonal[:10] = 100.0  # last year's peak, over by column 10 (= horizon week 2 - 52)
    seasonal[-13:] = 100.0  # this year's peak
    demand = np.vstack([steady, seasonal])
    return DemandHistory(
        date(2010, 12, 1),
        ["STEADY", "XMAS"],
        np.arange(-WEEKS, 0, dtype=np.int64),
        demand,
        np.array([-WEEKS, -WEEKS], dtype=np.int64),
    )


def test_a_seasonal_line_drops_after_the_peak_and_the_steady_line_takes_the_week():
    history = _history()
    shipped = forecast(history, 12, ForecastConfig()).quantities
    blend = forecast(history, 12, ForecastConfig(season_shares="blend")).quantities
    week = 6  # a year after column 14, where the seasonal line sold nothing
    assert blend[1, week] > 10  # the old blend carries part of the peak's share on
    assert shipped[1, week] < 1.0
    # The week's total is last year's week, now on the line that sold through the year.
    assert abs(shipped[0, week] - shipped[:, week].sum()) < 1.0
    assert shipped[0, week] > 40


def test_without_a_year_of_history_the_class_index_changes_nothing():
    history = _history()
    short = DemandHistory(
        history.start,
        history.skus,
        history.periods[-40:],
        history.demand[:, -40:],
        np.array([-40, -40], dtype=np.int64),
    )
    shipped = forecast(short, 12, ForecastConfig()).quantities
    blend = forecast(short, 12, ForecastConfig(season_shares="blend")).quantities
    np.testing.assert_allclose(shipped, blend)
