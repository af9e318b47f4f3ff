"""Lift against the holdout and the A/B winner (marketing.results_stats)."""

from __future__ import annotations

import pytest

from omniretail.marketing.results_stats import Proportion, lift, split_winner


def test_lift_is_the_difference_of_rates_with_an_interval_around_it() -> None:
    result = lift(Proportion(120, 1000), Proportion(90, 1000))
    assert result is not None
    assert result.difference == pytest.approx(0.03)
    assert result.low < 0.03 < result.high
    assert result.low == pytest.approx(0.0031, abs=1e-3)
    assert result.high == pytest.approx(0.0570, abs=1e-3)
    assert result.relative == pytest.approx(1 / 3)
    assert result.p_value == pytest.approx(0.0287, abs=1e-3)
    assert result.significant


def test_a_small_difference_on_small_groups_is_not_significant() -> None:
    result = lift(Proportion(6, 50), Proportion(5, 50))
    assert result is not None
    assert result.low < 0 < result.high
    assert not result.significant


def test_no_verdict_below_the_minimum_group() -> None:
    assert lift(Proportion(5, 10), Proportion(0, 1000)) is None
    assert lift(Proportion(5, 1000), Proportion(0, 29)) is None


def test_equal_rates_have_p_value_one_and_no_relative_lift_on_zero() -> None:
    result = lift(Proportion(0, 100), Proportion(0, 100))
    assert result is not None
    assert result.p_value == 1.0
    assert result.relative is None
    assert not result.significant


def test_split_winner_needs_a_significant_difference() -> None:
    clear = split_winner({"A": Proportion(50, 500), "B": Proportion(100, 500)})
    assert clear.best == "B"
    assert clear.winner == "B"
    assert clear.p_value is not None and clear.p_value < 0.001
    close = split_winner({"A": Proportion(50, 500), "B": Proportion(55, 500)})
    assert close.best == "B"
    assert close.winner is None
    assert close.p_value is not None and close.p_value > 0.05


def test_split_winner_with_too_few_or_one_branch() -> None:
    assert split_winner({"A": Proportion(1, 10), "B": Proportion(5, 10)}).winner is None
    assert split_winner({"A": Proportion(1, 10), "B": Proportion(5, 10)}).best == "B"
    assert split_winner({"A": Proportion(5, 100), "B": Proportion(0, 0)}).best is None
    assert split_winner({"A": Proportion(0, 100), "B": Proportion(0, 100)}).winner is None
