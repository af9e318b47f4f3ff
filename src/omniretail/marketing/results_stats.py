"""Statistics of journey results: lift against the holdout, the winner of an A/B split.

Lift is the difference of conversion rates (treated minus holdout) with Newcombe's interval
and the score test (statsmodels); a split's winner is the best branch when a chi-square test
over all branches (scipy) says the branches differ. Small groups give wide intervals, never a
verdict: with fewer than ``MIN_GROUP`` customers in a group nothing is declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MIN_GROUP = 30
ALPHA = 0.05


@dataclass(frozen=True)
class Proportion:
    converted: int
    total: int

    @property
    def rate(self) -> float:
        return self.converted / self.total if self.total else 0.0


@dataclass(frozen=True)
class Lift:
    treated_rate: float
    holdout_rate: float
    difference: float
    low: float
    high: float
    relative: float | None
    p_value: float
    significant: bool
    confidence: float


def lift(treated: Proportion, holdout: Proportion, *, confidence: float = 0.95) -> Lift | None:
    """None while either group is smaller than ``MIN_GROUP``."""
    if treated.total < MIN_GROUP or holdout.total < MIN_GROUP:
        return None
    # imported here: statsmodels (and pandas under it) would add ~0.6 s to every start
    from statsmodels.stats.proportion import (  # type: ignore[import-untyped]
        confint_proportions_2indep,
        test_proportions_2indep,
    )

    alpha = 1 - confidence
    low, high = confint_proportions_2indep(
        treated.converted,
        treated.total,
        holdout.converted,
        holdout.total,
        method="newcomb",
        compare="diff",
        alpha=alpha,
    )
    if treated.rate == holdout.rate:
        p_value = 1.0
    else:
        p_value = float(
            test_proportions_2indep(
                treated.converted,
                treated.total,
                holdout.converted,
                holdout.total,
                method="score",
                compare="diff",
            ).pvalue
        )
    difference = treated.rate - holdout.rate
    return Lift(
        treated_rate=treated.rate,
        holdout_rate=holdout.rate,
        difference=difference,
        low=float(low),
        high=float(high),
        relative=difference / holdout.rate if holdout.rate else None,
        p_value=p_value,
        significant=p_value < alpha and (float(low) > 0 or float(high) < 0),
        confidence=confidence,
    )


@dataclass(frozen=True)
class SplitResult:
    best: str | None
    p_value: float | None
    winner: str | None  # the best branch, only when the branches differ significantly


def split_winner(branches: Mapping[str, Proportion], *, alpha: float = ALPHA) -> SplitResult:
    """The branch with the highest conversion rate, and whether it wins: a chi-square test of
    converted / not converted across all branches."""
    measured = {name: p for name, p in branches.items() if p.total > 0}
    if len(measured) < 2:
        return SplitResult(best=None, p_value=None, winner=None)
    best = max(sorted(measured), key=lambda name: measured[name].rate)
    if any(p.total < MIN_GROUP for p in measured.values()):
        return SplitResult(best=best, p_value=None, winner=None)
    table = [[p.converted, p.total - p.converted] for p in measured.values()]
    if all(row[0] == 0 for row in table) or all(row[1] == 0 for row in table):
        return SplitResult(best=best, p_value=1.0, winner=None)
    from scipy.stats import chi2_contingency  # imported here: scipy.stats takes ~0.8 s

    p_value = float(chi2_contingency(table).pvalue)
    return SplitResult(best=best, p_value=p_value, winner=best if p_value < alpha else None)
