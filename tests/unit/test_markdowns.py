"""The markdown model without a database: the ladder optimiser on a small constant-elasticity
case with the amounts written out, the guardrails, and the elasticity estimate recovering a
known coefficient from synthetic data."""

from __future__ import annotations

import numpy as np
import polars as pl

from omniretail.intelligence.markdowns import (
    Guardrails,
    candidate_ladders,
    estimate_elasticity,
    optimise,
)

TWO_LEVELS = Guardrails(
    levels=(0.0, 0.5),
    floor_fraction=0.5,
    max_step=0.5,
    max_steps_per_month=4,
    weeks_per_step=1,
    clear_share=0.0,
)


def test_the_ladder_that_clears_with_the_most_revenue_is_chosen():
    # 100 units, 10 a week at 10.00, elasticity -2: half price sells 10 * 0.5**-2 = 40 a week.
    # Full price throughout: 40 units, 400.00, 60 left. Half price from week 3: 10 + 10 + 40
    # + 40 = 100 units, 2 * 100.00 + 80 * 5.00 = 600.00, nothing left; half price from week 2
    # clears too but earns 100.00 + 90 * 5.00 = 550.00, from week 1 only 500.00.
    ladder = optimise(100, np.array([10.0, 10.0, 10.0, 10.0]), 10.0, -2.0, TWO_LEVELS)
    assert ladder.discounts.tolist() == [0.0, 0.0, 0.5, 0.5]
    assert ladder.units.tolist() == [10.0, 10.0, 40.0, 40.0]
    assert (ladder.revenue, ladder.leftover, ladder.clears) == (600.0, 0.0, True)
    assert (ladder.baseline_units, ladder.baseline_revenue) == (40.0, 400.0)
    assert ladder.steps() == [(0, 2, 0.0), (2, 2, 0.5)]


def test_without_a_ladder_that_clears_the_least_stock_is_left():
    # 1,000 units cannot clear: half price all four weeks sells 160 (800.00).
    ladder = optimise(1000, np.array([10.0, 10.0, 10.0, 10.0]), 10.0, -2.0, TWO_LEVELS)
    assert ladder.discounts.tolist() == [0.5, 0.5, 0.5, 0.5]
    assert (ladder.revenue, ladder.leftover, ladder.clears) == (800.0, 840.0, False)


def test_the_cost_is_a_floor_and_margin_is_maximised():
    # A unit cost of 6.00 rules out half price (5.00): only full price is left.
    ladder = optimise(100, np.array([10.0] * 4), 10.0, -2.0, TWO_LEVELS, unit_cost=6.0)
    assert ladder.discounts.tolist() == [0.0, 0.0, 0.0, 0.0]
    assert (ladder.revenue, ladder.margin) == (400.0, 160.0)


def test_guardrails_bound_the_steps():
    rails = Guardrails(
        levels=(0.0, 0.2, 0.4, 0.6),
        floor_fraction=0.5,
        max_step=0.2,
        max_steps_per_month=1,
        weeks_per_step=2,
    )
    ladders = candidate_ladders(8, rails, 0.5)
    assert ladders.max() == 0.4  # 60 % off is below half the full price
    steps = np.diff(np.concatenate([np.zeros((len(ladders), 1)), ladders], axis=1), axis=1)
    assert steps.max() <= 0.2 + 1e-9 and steps.min() >= 0.0
    changes = steps > 0
    assert max(np.convolve(row, np.ones(4), mode="valid").max() for row in changes) == 1
    # none; 20 % from week 1, 3, 5 or 7; 20 % then 40 % four weeks or more apart (weeks 1
    # and 5, 1 and 7, 3 and 7)
    assert len(ladders) == 1 + 4 + 3


def test_the_elasticity_estimate_recovers_a_known_coefficient():
    rng = np.random.default_rng(7)
    skus, weeks, true = 200, 40, -1.8
    sku = np.repeat(np.arange(skus), weeks)
    period = np.tile(np.arange(-weeks, 0), skus)
    level = rng.normal(2.0, 1.0, skus)[sku]
    season = np.sin(np.arange(weeks) / 4.0)[period + weeks]
    base = rng.uniform(1.0, 5.0, skus)[sku]
    price = base * np.exp(rng.normal(0.0, 0.15, len(sku)))
    units = np.exp(level + season + true * np.log(price) + rng.normal(0.0, 0.3, len(sku)))
    panel = pl.DataFrame(
        {"sku": [f"S{i}" for i in sku], "period": period, "units": units, "price": price}
    )
    fit = estimate_elasticity(panel, holdout_weeks=8)
    low, high = fit.ci95
    assert low < true < high
    assert abs(fit.coefficient - true) < 0.1
    assert (fit.products, fit.observations, fit.holdout_observations) == (200, 6400, 1600)
    assert fit.holdout_rmse < fit.baseline_rmse
