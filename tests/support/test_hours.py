"""SLA due times in business hours (support.hours): a pure function, checked by hand-worked
cases, including a weekend, a closed day, a time zone and a daylight-saving change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omniretail.support.hours import (
    DEFAULT_HOURS,
    add_business_minutes,
    breached,
    business_minutes_between,
    validate,
)

LONDON = "Europe/London"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_inside_opening_hours_the_clock_runs():
    # Wednesday 2 December 2026, 10:00 London (= UTC in winter) + 4 h
    assert add_business_minutes(utc(2026, 12, 2, 10), 240, DEFAULT_HOURS, LONDON) == utc(
        2026, 12, 2, 14
    )


def test_time_left_at_closing_carries_to_the_next_opening():
    # Wednesday 16:00 + 2 h: one hour today, one from Thursday 09:00
    assert add_business_minutes(utc(2026, 12, 2, 16), 120, DEFAULT_HOURS, LONDON) == utc(
        2026, 12, 3, 10
    )


def test_a_message_on_saturday_waits_for_monday():
    assert add_business_minutes(utc(2026, 12, 5, 11), 240, DEFAULT_HOURS, LONDON) == utc(
        2026, 12, 7, 13
    )
    # Friday 16:30 + 1 h: 30 min on Friday, 30 on Monday
    assert add_business_minutes(utc(2026, 12, 4, 16, 30), 60, DEFAULT_HOURS, LONDON) == utc(
        2026, 12, 7, 9, 30
    )


def test_the_team_time_zone_and_daylight_saving_count():
    hours = {"1": ["09:00", "17:00"], "7": ["10:00", "12:00"]}
    # Sunday 29 March 2026: clocks go forward in London; 10:00 BST = 09:00 UTC
    assert add_business_minutes(utc(2026, 3, 29, 0), 60, hours, LONDON) == utc(2026, 3, 29, 10)
    # New York: Monday 09:00 EST = 14:00 UTC
    assert add_business_minutes(utc(2026, 12, 7, 12), 30, hours, "America/New_York") == utc(
        2026, 12, 7, 14, 30
    )


def test_minutes_between_count_only_opening_hours():
    # Friday 16:00 to Monday 10:00: one hour Friday, one Monday
    assert (
        business_minutes_between(utc(2026, 12, 4, 16), utc(2026, 12, 7, 10), DEFAULT_HOURS, LONDON)
        == 120
    )
    assert (
        business_minutes_between(utc(2026, 12, 7, 10), utc(2026, 12, 4, 16), DEFAULT_HOURS, LONDON)
        == 0
    )


def test_no_opening_hours_means_around_the_clock():
    assert add_business_minutes(utc(2026, 12, 5, 11), 90, {}, LONDON) == utc(2026, 12, 5, 12, 30)


def test_breach_is_late_or_overdue():
    due = utc(2026, 12, 7, 13)
    assert not breached(due, utc(2026, 12, 7, 12), utc(2026, 12, 9))
    assert breached(due, utc(2026, 12, 7, 14), utc(2026, 12, 7, 14))
    assert breached(due, None, utc(2026, 12, 7, 13, 1))
    assert not breached(due, None, utc(2026, 12, 7, 12))


def test_bad_hours_are_refused():
    with pytest.raises(ValueError):
        validate({"8": ["09:00", "17:00"]})
    with pytest.raises(ValueError):
        validate({"1": ["17:00", "09:00"]})
