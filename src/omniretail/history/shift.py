"""Moving an old transaction log forward in time, so that a demo built on it looks current.

A shift is a whole number of weeks as close as possible to a whole number of years: every
invoice keeps its weekday exactly, and its calendar date moves by that many years give or take
a few days (16 years is 5,844 days; the shift is 835 weeks, 5,845 days, one day more). Seasons
(Christmas peaks, summer lulls) stay where they were to within those days; weekly patterns
are untouched. Pure date arithmetic: nothing here touches a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

WEEK = 7


@dataclass(frozen=True)
class Shift:
    years: int
    days: int  # a multiple of 7

    @property
    def none(self) -> bool:
        return self.days == 0

    def describe(self) -> str:
        if self.none:
            return "original dates"
        return (
            f"{self.years} years rounded to whole weeks ({self.days // WEEK:,} weeks,"
            f" {self.days:,} days): weekdays kept"
        )

    def apply(self, day: date) -> date:
        return day + timedelta(days=self.days)

    def apply_back(self, day: date) -> date:
        return day - timedelta(days=self.days)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def weeks_for_years(anchor: date, years: int) -> int:
    """Days in the whole number of weeks closest to ``years`` calendar years after ``anchor``."""
    calendar_days = (_add_years(anchor, years) - anchor).days
    return WEEK * round(calendar_days / WEEK)


def shift_by_years(last_day: date, years: int) -> Shift:
    return Shift(years, weeks_for_years(last_day, years))


def shift_to_recent(last_day: date, today: date) -> Shift:
    """The shift that puts ``last_day`` within the year before ``today`` (at most ``today``):
    the most whole years that fit, rounded to whole weeks (a week less if rounding up would
    pass today). No shift for a log that ends within the last year or later."""
    years = today.year - last_day.year
    while years > 0 and _add_years(last_day, years) > today:
        years -= 1
    if years <= 0:
        return Shift(0, 0)
    days = weeks_for_years(last_day, years)
    if last_day + timedelta(days=days) > today:
        days -= WEEK
    return Shift(years, days)


def shifted(log: pl.DataFrame, shift: Shift) -> pl.DataFrame:
    """The log with every invoice date moved by the shift (UK local times stay local)."""
    if shift.none:
        return log
    return log.with_columns(pl.col("InvoiceDate") + pl.duration(days=shift.days))


def date_range(log: pl.DataFrame) -> tuple[date | None, date | None]:
    """First and last invoice day of the rows that can be imported."""
    kept = log.filter(pl.col("set_aside").is_null())["InvoiceDate"].drop_nulls()
    if kept.is_empty():
        return None, None
    first, last = kept.min(), kept.max()
    return first.date(), last.date()  # type: ignore[union-attr]
