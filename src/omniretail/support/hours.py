"""Business hours: SLA due times counted only in a team's opening hours, in its time zone.

Pure functions (no I/O). ``hours`` maps ISO weekdays ("1" Monday .. "7" Sunday) to
``["HH:MM", "HH:MM"]``; a day not in the map is closed. Daylight-saving changes are handled by
working in the local wall clock and converting each interval's ends back to UTC."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Hours = Mapping[str, Sequence[str]]

DEFAULT_HOURS: dict[str, list[str]] = {str(d): ["09:00", "17:00"] for d in range(1, 6)}
# Looking further than this for opening hours means the team has none.
_HORIZON_DAYS = 366


def _clock(text: str) -> time:
    hour, _, minute = text.partition(":")
    return time(int(hour), int(minute or 0))


def validate(hours: Hours) -> dict[str, list[str]]:
    """The hours in canonical form; raises ValueError for a bad day or interval."""
    clean: dict[str, list[str]] = {}
    for day, span in hours.items():
        if day not in {str(d) for d in range(1, 8)}:
            raise ValueError(f"weekday {day!r}: use 1 (Monday) .. 7 (Sunday)")
        if len(span) != 2:
            raise ValueError(f"weekday {day}: give [opens, closes]")
        opens, closes = _clock(span[0]), _clock(span[1])
        if not opens < closes:
            raise ValueError(f"weekday {day}: opens before it closes")
        clean[day] = [opens.strftime("%H:%M"), closes.strftime("%H:%M")]
    return clean


def _intervals(
    start: datetime, hours: Hours, zone: ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    """The open intervals (UTC) from ``start`` on, the first one cut at ``start``."""
    local_day: date = start.astimezone(zone).date()
    for offset in range(_HORIZON_DAYS):
        day = local_day + timedelta(days=offset)
        span = hours.get(str(day.isoweekday()))
        if not span:
            continue
        opens = datetime.combine(day, _clock(span[0]), zone).astimezone(UTC)
        closes = datetime.combine(day, _clock(span[1]), zone).astimezone(UTC)
        if closes <= start:
            continue
        yield max(opens, start), closes


def add_business_minutes(start: datetime, minutes: int, hours: Hours, time_zone: str) -> datetime:
    """When ``minutes`` of opening hours have passed after ``start`` (UTC, aware). With no
    opening hours at all the clock runs around the clock."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    start = start.astimezone(UTC)
    if not any(hours.get(str(d)) for d in range(1, 8)):
        return start + timedelta(minutes=minutes)
    left = timedelta(minutes=minutes)
    for opens, closes in _intervals(start, hours, ZoneInfo(time_zone)):
        if opens + left <= closes:
            return opens + left
        left -= closes - opens
    raise ValueError("no opening hours within a year")


def business_minutes_between(start: datetime, end: datetime, hours: Hours, time_zone: str) -> float:
    """Minutes of opening hours between two instants (0 when ``end`` is not after ``start``)."""
    if end <= start:
        return 0.0
    if not any(hours.get(str(d)) for d in range(1, 8)):
        return (end - start).total_seconds() / 60
    total = timedelta()
    for opens, closes in _intervals(start.astimezone(UTC), hours, ZoneInfo(time_zone)):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total.total_seconds() / 60


def breached(due: datetime | None, done: datetime | None, now: datetime) -> bool:
    """An SLA is breached when it was met late, or is not met and its due time has passed."""
    if due is None:
        return False
    return (done or now) > due
