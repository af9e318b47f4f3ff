"""Promise dates (``orders.promises``): lead times counted from the dispatch day in the source's
time zone, collection times counted in the pickup store's opening hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from omniretail.orders.models import FulfilmentMethod as M
from omniretail.routing.promises import (
    OrderPolicy,
    Promise,
    local_day,
    opening_after,
    policy_from,
    promise,
    zone,
)
from tests.fakes import opening_hours

LONDON = ZoneInfo("Europe/London")
POLICY = OrderPolicy()  # 2 delivery days, cutoff 15:00, 2 transfer days, ready in 120 minutes
MONDAY_9 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # London is on GMT in November


def test_shipping_before_the_cutoff_dispatches_today_after_it_tomorrow():
    before = promise(M.SHIP_TO_HOME, MONDAY_9, POLICY, source_timezone="Europe/London")
    at_cutoff = promise(
        M.SHIP_TO_HOME, MONDAY_9.replace(hour=15), POLICY, source_timezone="Europe/London"
    )
    locker = promise(M.LOCKER, MONDAY_9, POLICY, source_timezone="Europe/London")

    assert before == Promise(date(2026, 11, 4)) == locker
    assert at_cutoff == Promise(date(2026, 11, 5))


def test_the_cutoff_is_in_the_sources_time_zone():
    # 09:00 UTC is 18:00 in Tokyo: past the cutoff there.
    tokyo = promise(M.SHIP_TO_HOME, MONDAY_9, POLICY, source_timezone="Asia/Tokyo")

    assert tokyo == Promise(date(2026, 11, 5))


def test_collection_is_ready_after_the_preparation_time_within_opening_hours():
    hours = opening_hours()
    late = MONDAY_9.replace(hour=16)  # one hour of Monday left, one more on Tuesday

    today = promise(
        M.PICKUP_IN_STORE,
        MONDAY_9,
        POLICY,
        source_timezone="Europe/London",
        pickup_timezone="Europe/London",
        pickup_hours=hours,
    )
    tomorrow = promise(
        M.CURBSIDE,
        late,
        POLICY,
        source_timezone="Europe/London",
        pickup_timezone="Europe/London",
        pickup_hours=hours,
    )

    assert today == Promise(date(2026, 11, 2), datetime(2026, 11, 2, 11, 0, tzinfo=LONDON))
    assert tomorrow == Promise(date(2026, 11, 3), datetime(2026, 11, 3, 10, 0, tzinfo=LONDON))


def test_closed_days_are_skipped():
    saturday_4pm = datetime(2026, 11, 7, 16, 0, tzinfo=LONDON)

    ready = opening_after(saturday_4pm, opening_hours(), timedelta(hours=2))

    assert ready == datetime(2026, 11, 9, 10, 0, tzinfo=LONDON)  # Sunday closed: Monday


def test_ship_to_store_is_ready_when_the_store_opens_on_arrival_day():
    ready = promise(
        M.SHIP_TO_STORE,
        MONDAY_9,
        POLICY,
        source_timezone="Europe/London",
        pickup_timezone="Europe/London",
        pickup_hours=opening_hours(wed="10:00-18:00"),
    )

    assert ready == Promise(date(2026, 11, 4), datetime(2026, 11, 4, 10, 0, tzinfo=LONDON))


def test_no_hours_means_always_open_and_unreadable_hours_fall_back_to_elapsed_time():
    start = datetime(2026, 11, 2, 16, 0, tzinfo=LONDON)
    work = timedelta(hours=2)

    assert opening_after(start, {}, work) == start + work
    assert opening_after(start, {"mon": "nine to five", "tue": "17:00-09:00"}, work) == start + work


def test_an_unknown_time_zone_is_read_as_utc():
    assert zone("Mars/Olympus") == ZoneInfo("UTC")
    assert local_day(datetime(2026, 11, 2, 23, 30, tzinfo=UTC), "Asia/Tokyo") == date(2026, 11, 3)
    assert local_day(datetime(2026, 11, 2, 23, 30, tzinfo=UTC), "nowhere") == date(2026, 11, 2)


def test_the_policy_comes_from_settings_with_reminders_latest_first():
    settings = SimpleNamespace(
        delivery_days=3,
        dispatch_cutoff_hour=12,
        transfer_lead_days=4,
        pickup_ready_minutes=30,
        pickup_hold_days=5,
        pickup_reminder_days_before=[1, 3, 2],
    )

    assert policy_from(settings) == OrderPolicy(3, 12, 4, 30, 5, (3, 2, 1))
