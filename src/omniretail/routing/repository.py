"""The only place that builds queries over the routing tables (rule sets, capacity).

Capacity is a conditional increment, so two concurrent attempts never both win."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import (
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from omniretail.db.sql import insert_for, listed, listed_statement, listed_values
from omniretail.routing.models import CapacityUsage, RoutingRuleSet

capacity = cast(Table, CapacityUsage.__table__)


def take_capacity_if_left(session: Session, location: str, day: date, limit: int) -> bool:
    """One conditional upsert: +1 on the location's day only while ``used < limit``."""
    stmt = (
        insert_for(session)(capacity)
        .values(location_code=location, day=day, used=1)
        .on_conflict_do_update(
            index_elements=[capacity.c.location_code, capacity.c.day],
            set_={"used": capacity.c.used + 1},
            where=capacity.c.used < limit,
        )
        .returning(capacity.c.used)
    )
    return session.execute(stmt).one_or_none() is not None


def give_back_capacity(session: Session, location: str, day: date) -> None:
    session.execute(
        update(capacity)
        .where(capacity.c.location_code == location, capacity.c.day == day, capacity.c.used > 0)
        .values(used=capacity.c.used - 1)
    )


def capacity_used(session: Session, locations: Sequence[str], day: date) -> dict[str, int]:
    if not locations:
        return {}
    stmt = listed_statement(session, "routing.capacity_used", len(locations), _capacity_used)
    rows = session.execute(stmt, {**listed_values("locations", locations), "day": day})
    return {r[0]: int(r[1]) for r in rows}


def _capacity_used(postgres: bool, count: int) -> Any:
    return select(capacity.c.location_code, capacity.c.used).where(
        listed(capacity.c.location_code, "locations", count, postgres, String()),
        capacity.c.day == bindparam("day", type_=capacity.c.day.type),
    )


def latest_rule_set(session: Session) -> RoutingRuleSet | None:
    return session.scalars(
        select(RoutingRuleSet).order_by(RoutingRuleSet.version.desc()).limit(1)
    ).first()


def get_rule_set(session: Session, version: int) -> RoutingRuleSet | None:
    return session.get(RoutingRuleSet, version)


def list_rule_sets(session: Session, limit: int) -> list[RoutingRuleSet]:
    return list(
        session.scalars(select(RoutingRuleSet).order_by(RoutingRuleSet.version.desc()).limit(limit))
    )


def insert_rule_set(session: Session, values: dict[str, Any]) -> int:
    """The next version number; a concurrent save with the same number fails on the primary
    key and is retried by the caller's client."""
    version = (
        int(session.scalar(select(func.coalesce(func.max(RoutingRuleSet.version), 0))) or 0) + 1
    )
    session.execute(insert(cast(Table, RoutingRuleSet.__table__)).values(version=version, **values))
    return version
