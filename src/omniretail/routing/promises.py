"""Promise dates from lead times and opening hours. Pure: the caller passes ``now``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omniretail.routing.methods import FulfilmentMethod

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class OrderPolicy:
    """Lead times and click & collect rules (built from settings)."""

    delivery_days: int = 2
    dispatch_cutoff_hour: int = 15
    transfer_lead_days: int = 2
    pickup_ready_minutes: int = 120
    pickup_hold_days: int = 7
    pickup_reminder_days_before: tuple[int, ...] = field(default=(3, 1))


def policy_from(settings: Any) -> OrderPolicy:
    return OrderPolicy(
        delivery_days=settings.delivery_days,
        dispatch_cutoff_hour=settings.dispatch_cutoff_hour,
        transfer_lead_days=settings.transfer_lead_days,
        pickup_ready_minutes=settings.pickup_ready_minutes,
        pickup_hold_days=settings.pickup_hold_days,
        pickup_reminder_days_before=tuple(
            sorted(settings.pickup_reminder_days_before, reverse=True)
        ),
    )


@dataclass(frozen=True)
class Promise:
    date: date
    ready_by: datetime | None = None  # for collection: when the order can be picked up


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_day(now: datetime, timezone: str) -> date:
    return now.astimezone(zone(timezone)).date()


def promise(
    method: FulfilmentMethod,
    now: datetime,
    policy: OrderPolicy,
    *,
    source_timezone: str,
    pickup_timezone: str | None = None,
    pickup_hours: dict[str, Any] | None = None,
) -> Promise:
    """When a fulfilment by ``method`` can reach the customer, counted from ``now``."""
    local = now.astimezone(zone(source_timezone))
    dispatch = local.date() + timedelta(days=local.hour >= policy.dispatch_cutoff_hour)
    if method is FulfilmentMethod.SHIP_TO_HOME or method is FulfilmentMethod.LOCKER:
        return Promise(dispatch + timedelta(days=policy.delivery_days))
    if method is FulfilmentMethod.SHIP_TO_STORE:
        arrives = dispatch + timedelta(days=policy.transfer_lead_days)
        ready = opening_after(
            datetime.combine(arrives, time(0), tzinfo=zone(pickup_timezone or source_timezone)),
            pickup_hours or {},
            timedelta(0),
        )
        return Promise(ready.date(), ready)
    ready = opening_after(
        now.astimezone(zone(pickup_timezone or source_timezone)),
        pickup_hours or {},
        timedelta(minutes=policy.pickup_ready_minutes),
    )
    return Promise(ready.date(), ready)


def opening_after(start: datetime, hours: dict[str, Any], work: timedelta) -> datetime:
    """The first moment, at or after ``start`` plus ``work`` done in opening hours, when the
    store is open. No hours given means always open."""
    if not hours:
        return start + work
    moment = start
    remaining = work
    for _ in range(15):
        window = _window(hours, moment.date(), moment.tzinfo)
        if window is not None:
            opens, closes = window
            if moment < opens:
                moment = opens
            if moment < closes:
                if moment + remaining <= closes:
                    return moment + remaining
                remaining -= closes - moment
        next_day = moment.date() + timedelta(days=1)
        moment = datetime.combine(next_day, time(0), tzinfo=moment.tzinfo)
    return start + work  # never open in two weeks: fall back to elapsed time


def _window(hours: dict[str, Any], day: date, tz: Any) -> tuple[datetime, datetime] | None:
    spec = str(hours.get(WEEKDAYS[day.weekday()], "")).strip().lower()
    if not spec or spec == "closed" or "-" not in spec:
        return None
    try:
        opens_s, closes_s = (part.strip() for part in spec.split("-", 1))
        opens = datetime.combine(day, time.fromisoformat(opens_s), tzinfo=tz)
        closes = datetime.combine(day, time.fromisoformat(closes_s), tzinfo=tz)
    except ValueError:
        return None
    return (opens, closes) if closes > opens else None
