"""The only place that builds queries over the dynamic pricing tables (and the order lines
dynamic pricing reads its demand from)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, func, insert, select, update
from sqlalchemy.orm import Session

from omniretail.db.sql import insert_for, rowcount
from omniretail.intelligence.dynamic_pricing_models import (
    DynamicPriceChange,
    DynamicPriceRule,
    DynamicPriceRun,
)
from omniretail.orders.models import Order, OrderLine

rules = cast(Table, DynamicPriceRule.__table__)
runs = cast(Table, DynamicPriceRun.__table__)
changes = cast(Table, DynamicPriceChange.__table__)


def get_rule(session: Session, code: str) -> Row[Any] | None:
    return session.execute(select(rules).where(rules.c.code == code)).one_or_none()


def list_rules(
    session: Session, channel: str | None = None, *, active_only: bool = False
) -> list[Row[Any]]:
    stmt = select(rules).order_by(rules.c.priority.desc(), rules.c.code)
    if channel is not None:
        stmt = stmt.where(rules.c.channel_code == channel)
    if active_only:
        stmt = stmt.where(rules.c.active.is_(True))
    return list(session.execute(stmt))


def insert_rule(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(rules).values(**values))


def update_rule(session: Session, code: str, values: dict[str, Any]) -> None:
    session.execute(update(rules).where(rules.c.code == code).values(**values))


def delete_rule(session: Session, code: str) -> bool:
    return bool(rowcount(session.execute(rules.delete().where(rules.c.code == code))))


def insert_run(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(runs).values(**values))


def finish_run(session: Session, run_id: str, evaluated: int, changed: int) -> None:
    session.execute(
        update(runs).where(runs.c.id == run_id).values(evaluated=evaluated, changed=changed)
    )


def list_runs(session: Session, limit: int) -> list[Row[Any]]:
    return list(session.execute(select(runs).order_by(runs.c.started_at.desc()).limit(limit)))


def run_started_on(session: Session, day: date) -> bool:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    found = session.execute(
        select(runs.c.id)
        .where(runs.c.started_at >= start, runs.c.started_at < start + timedelta(days=1))
        .limit(1)
    ).first()
    return found is not None


def insert_change_unless_changed_today(session: Session, values: dict[str, Any]) -> int | None:
    """The new change's id, or None when the SKU's price on the channel already changed that
    day (the unique key decides; a concurrent run waits for the other's commit, then skips)."""
    stmt = (
        insert_for(session)(changes)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["sku_code", "channel_code", "day"])
        .returning(changes.c.id)
    )
    return cast(int | None, session.execute(stmt).scalar_one_or_none())


def changed_today(session: Session, channel: str, day: date) -> set[str]:
    """The SKUs whose price on ``channel`` changed on ``day``."""
    return set(
        session.scalars(
            select(changes.c.sku_code).where(
                changes.c.channel_code == channel, changes.c.day == day
            )
        )
    )


def get_change(session: Session, change_id: int) -> Row[Any] | None:
    return session.execute(select(changes).where(changes.c.id == change_id)).one_or_none()


def latest_standing_change_of(session: Session, sku: str, channel: str) -> Row[Any] | None:
    """The SKU's latest change on the channel that was not reverted."""
    return session.execute(
        select(changes)
        .where(
            changes.c.sku_code == sku,
            changes.c.channel_code == channel,
            changes.c.reverted_at.is_(None),
        )
        .order_by(changes.c.at.desc(), changes.c.id.desc())
        .limit(1)
    ).one_or_none()


def last_change_at(session: Session, channel: str, skus: Sequence[str]) -> dict[str, datetime]:
    """SKU -> when its price on ``channel`` last changed dynamically."""
    rows = session.execute(
        select(changes.c.sku_code, func.max(changes.c.at))
        .where(changes.c.channel_code == channel, changes.c.sku_code.in_(list(skus)))
        .group_by(changes.c.sku_code)
    )
    return {sku: at for sku, at in rows}


def mark_reverted(session: Session, change_id: int, at: datetime, actor: str) -> bool:
    """Marks an unreverted change reverted (conditional: a second revert finds nothing)."""
    result = session.execute(
        update(changes)
        .where(changes.c.id == change_id, changes.c.reverted_at.is_(None))
        .values(reverted_at=at, reverted_by=actor)
    )
    return bool(rowcount(result))


def list_changes(
    session: Session,
    *,
    channel: str | None = None,
    sku: str | None = None,
    run_id: str | None = None,
    limit: int = 100,
) -> list[Row[Any]]:
    stmt = select(changes).order_by(changes.c.at.desc(), changes.c.id.desc()).limit(limit)
    if channel is not None:
        stmt = stmt.where(changes.c.channel_code == channel)
    if sku is not None:
        stmt = stmt.where(changes.c.sku_code == sku)
    if run_id is not None:
        stmt = stmt.where(changes.c.run_id == run_id)
    return list(session.execute(stmt))


def units_sold(
    session: Session, channel: str, skus: Sequence[str], start: datetime, end: datetime
) -> dict[str, int]:
    """SKU -> units ordered on ``channel`` in [start, end), cancellations netted off."""
    orders, lines = Order.__table__.c, OrderLine.__table__.c
    rows = session.execute(
        select(lines.sku_code, func.sum(lines.quantity))
        .select_from(OrderLine.__table__.join(Order.__table__, orders.id == lines.order_id))
        .where(
            orders.channel_code == channel,
            orders.placed_at >= start,
            orders.placed_at < end,
            lines.sku_code.in_(list(skus)),
        )
        .group_by(lines.sku_code)
    )
    return {sku: int(total or 0) for sku, total in rows}
