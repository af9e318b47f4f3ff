"""The customer's time zone: their home store's, else the marketing default.

Waits until a time of day, quiet hours and caps counted in the customer's days all use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from omniretail.catalog.models import Location
from omniretail.customers.models import Customer
from omniretail.db.sql import among

DEFAULT_ZONE = "Europe/London"


def customer_zones(
    session: Session, customer_ids: Iterable[int], *, default: str = DEFAULT_ZONE
) -> dict[int, ZoneInfo]:
    """Every asked id mapped to a zone, in one statement (unknown ids get the default)."""
    ids = sorted(set(customer_ids))
    fallback = ZoneInfo(default)
    zones: dict[int, ZoneInfo] = dict.fromkeys(ids, fallback)
    if not ids:
        return zones
    rows = session.execute(
        select(Customer.id, Location.timezone)
        .join(Location, Location.code == Customer.home_store)
        .where(among(session, Customer.id, ids))
    )
    for customer_id, zone in rows:
        zones[customer_id] = ZoneInfo(zone) if zone else fallback
    return zones


def next_local_time(after: datetime, local: str, zone: ZoneInfo) -> datetime:
    """The first moment at or after ``after`` (aware) when the clock in ``zone`` shows
    ``local`` ("HH:MM"), as an aware UTC datetime."""
    hour, minute = (int(part) for part in local.split(":"))
    here = after.astimezone(zone)
    candidate = datetime.combine(here.date(), time(hour, minute), tzinfo=zone)
    if candidate < here:
        candidate = datetime.combine(
            here.date() + timedelta(days=1), time(hour, minute), tzinfo=zone
        )
    return candidate.astimezone(ZoneInfo("UTC"))


def local_day_start(at: datetime, zone: ZoneInfo, *, days_back: int = 0) -> datetime:
    """Midnight in ``zone`` of the local day ``days_back`` before ``at``'s, in UTC."""
    day = at.astimezone(zone).date() - timedelta(days=days_back)
    return datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(ZoneInfo("UTC"))
