"""Queries over the activity timeline and anonymous links."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import (
    Row,
    String,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import cast as cast_
from sqlalchemy.orm import Session

from omniretail.customers.models import (
    Activity,
    AnonymousLink,
)
from omniretail.customers.repository.tables import activity
from omniretail.db.sql import is_postgres, matches, rowcount, statement

# --- activity (timeline) ---------------------------------------------------------------------


def insert_activities(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(activity), rows)


# Behavioural events go in as one INSERT ... SELECT FROM unnest(arrays) on PostgreSQL: one
# statement, the columns as arrays sent in binary, and the events' data as one JSON array
# (paired with the rows by position), so neither side processes the batch row by row.
_BEHAVIOUR_INSERT_PG = (
    "INSERT INTO customer_activity"
    " (customer_id, anonymous_id, kind, channel, occurred_at, source_key, data)"
    " SELECT e.customer_id, e.anonymous_id, e.kind, e.channel, e.occurred_at, e.source_key,"
    " d.value"
    " FROM unnest(%(customer_id)b::bigint[], %(anonymous_id)b::varchar[], %(kind)b::varchar[],"
    " %(channel)b::varchar[], %(occurred_at)b::timestamptz[], %(source_key)b::varchar[])"
    " WITH ORDINALITY AS e(customer_id, anonymous_id, kind, channel, occurred_at, source_key, n)"
    " JOIN jsonb_array_elements(%(data)s::jsonb) WITH ORDINALITY AS d(value, n) USING (n)"
)


def insert_behaviour(
    session: Session,
    *,
    customer_id: list[int | None],
    anonymous_id: list[str | None],
    kind: list[str],
    channel: list[str | None],
    occurred_at: list[datetime],
    source_key: list[str | None],
    data: list[dict[str, Any]],
) -> None:
    """Behavioural events given column by column (all lists of the same length)."""
    if not kind:
        return
    if is_postgres(session):
        session.connection().exec_driver_sql(
            _BEHAVIOUR_INSERT_PG,
            {
                "customer_id": customer_id,
                "anonymous_id": anonymous_id,
                "kind": kind,
                "channel": channel,
                "occurred_at": occurred_at,
                "source_key": source_key,
                "data": json.dumps(data, separators=(",", ":")),
            },
        )
        return
    insert_activities(
        session,
        [
            {
                "customer_id": row[0],
                "anonymous_id": row[1],
                "kind": row[2],
                "channel": row[3],
                "occurred_at": row[4],
                "source_key": row[5],
                "data": row[6],
            }
            for row in zip(
                customer_id, anonymous_id, kind, channel, occurred_at, source_key, data, strict=True
            )
        ],
    )


def existing_source_keys(session: Session, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    stmt = statement(
        session,
        "existing_source_keys",
        lambda pg: select(activity.c.source_key).where(
            matches(activity.c.source_key, "keys", pg, String())
        ),
    )
    return set(session.scalars(stmt, {"keys": list(keys)}))


class LockedActivity(NamedTuple):
    """The columns of a timeline row that a change reads."""

    id: int
    amount: Decimal | None
    status: str | None
    data: dict[str, Any] | None


def lock_activity(session: Session, source_key: str) -> LockedActivity | None:
    """The timeline row with this key, locked (SELECT ... FOR UPDATE) for a change."""
    row = session.execute(
        select(activity.c.id, activity.c.amount, activity.c.status, activity.c.data)
        .where(activity.c.source_key == source_key)
        .with_for_update()
    ).first()
    return None if row is None else LockedActivity(*row)


def activity_channel(session: Session, source_key: str) -> str | None:
    channel = session.scalar(select(activity.c.channel).where(activity.c.source_key == source_key))
    return str(channel) if channel is not None else None


def update_activity(session: Session, activity_id: int, values: dict[str, Any]) -> None:
    session.execute(update(activity).where(activity.c.id == activity_id).values(**values))


def upsert_activity(session: Session, row: dict[str, Any]) -> None:
    """Insert, or update the status/amount of the row with the same ``source_key``."""
    updated = session.execute(
        update(activity)
        .where(activity.c.source_key == row["source_key"])
        .values(status=row.get("status"), amount=row.get("amount"), data=row.get("data", {}))
    )
    if not rowcount(updated):
        session.execute(insert(activity).values(**row))


def timeline(
    session: Session,
    customer_ids: Sequence[int],
    *,
    limit: int,
    before: datetime | None = None,
    kinds: Sequence[str] | None = None,
) -> list[Activity]:
    stmt = select(Activity).where(Activity.customer_id.in_(list(customer_ids)))
    if before is not None:
        stmt = stmt.where(Activity.occurred_at < before)
    if kinds:
        stmt = stmt.where(Activity.kind.in_(list(kinds)))
    return list(
        session.scalars(stmt.order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(limit))
    )


ACTIVITY_COLUMNS = (
    activity.c.id,
    activity.c.customer_id,
    activity.c.kind,
    activity.c.channel,
    activity.c.occurred_at,
    activity.c.amount,
    activity.c.status,
    activity.c.data,
)


def purchases_section(
    session: Session, customer_ids: Sequence[int], *, orders: int
) -> tuple[list[tuple[str, int, Decimal]], list[Row[Any]], list[Row[Any]]]:
    """The 360's purchase sections in one statement, all read through the purchases index
    (orders and returns only): spend by channel (orders counted, amounts net of returns and
    cancellations), the last ``orders`` orders and the open returns."""

    def build(pg: bool) -> Any:
        a = activity.c
        newest = (a.occurred_at.desc(), a.id.desc())
        last = (
            select(literal(0).label("part"), *ACTIVITY_COLUMNS)
            .where(matches(a.customer_id, "ids", pg), a.kind == "order")
            .order_by(*newest)
            .limit(bindparam("orders"))
        )
        open_ = select(literal(1).label("part"), *ACTIVITY_COLUMNS).where(
            matches(a.customer_id, "ids", pg), a.kind == "return", a.status == "open"
        )
        # One row per channel, in the same columns: id = orders counted, amount = the sum.
        spend = (
            select(
                literal(2).label("part"),
                func.count().filter(a.kind == "order"),
                cast_(null(), a.customer_id.type),
                cast_(null(), a.kind.type),
                a.channel,
                cast_(null(), a.occurred_at.type),
                func.coalesce(func.sum(a.amount), 0),
                cast_(null(), a.status.type),
                cast_(null(), a.data.type),
            )
            .where(matches(a.customer_id, "ids", pg), a.kind.in_(["order", "return"]))
            .group_by(a.channel)
        )
        parts = union_all(last.subquery().select(), open_, spend).subquery()
        return select(parts).order_by(parts.c.part, parts.c.occurred_at.desc(), parts.c.id.desc())

    stmt = statement(session, "purchases_section", build)
    rows = list(session.execute(stmt, {"ids": list(customer_ids), "orders": orders}))
    spend = sorted(
        ((r.channel or "unknown", int(r.id), Decimal(r.amount)) for r in rows if r.part == 2),
        key=lambda s: (s[0] == "unknown", s[0]),
    )
    return spend, [r for r in rows if r.part == 0], [r for r in rows if r.part == 1]


def link_anonymous(session: Session, anonymous_id: str, customer_id: int, now: datetime) -> int:
    """Links the anonymous id to the customer unless it is linked already; returns the
    customer it is linked to."""
    existing = session.get(AnonymousLink, anonymous_id)
    if existing is not None:
        return int(existing.customer_id)
    session.add(AnonymousLink(anonymous_id=anonymous_id, customer_id=customer_id, linked_at=now))
    session.flush()
    return customer_id


def anonymous_links(session: Session, anonymous_ids: Sequence[str]) -> dict[str, int]:
    """The profile each of these anonymous ids is linked to (the unlinked are absent)."""
    found = session.execute(
        select(AnonymousLink.anonymous_id, AnonymousLink.customer_id).where(
            AnonymousLink.anonymous_id.in_(list(anonymous_ids))
        )
    )
    return {anonymous_id: customer_id for anonymous_id, customer_id in found}


def stitch_anonymous(session: Session, anonymous_id: str, customer_id: int) -> int:
    result = session.execute(
        update(activity)
        .where(activity.c.anonymous_id == anonymous_id, activity.c.customer_id.is_(None))
        .values(customer_id=customer_id)
    )
    return rowcount(result)


def erase_activity(session: Session, customer_id: int) -> dict[str, int]:
    """Behaviour, contacts and messages go; orders and returns stay with their amounts only."""
    anon = list(
        session.scalars(
            select(AnonymousLink.anonymous_id).where(AnonymousLink.customer_id == customer_id)
        )
    )
    behaviour = session.execute(
        delete(activity).where(
            or_(
                and_(
                    activity.c.customer_id == customer_id,
                    activity.c.kind.not_in(["order", "return"]),
                ),
                activity.c.anonymous_id.in_(anon) if anon else false(),
            )
        )
    )
    session.execute(
        update(activity)
        .where(activity.c.customer_id == customer_id)
        .values(anonymous_id=None, data={})
    )
    links = session.execute(delete(AnonymousLink).where(AnonymousLink.customer_id == customer_id))
    return {
        "activity_deleted": rowcount(behaviour),
        "anonymous_links_deleted": rowcount(links),
    }


def all_activity(session: Session, customer_ids: Sequence[int]) -> list[Activity]:
    return list(
        session.scalars(
            select(Activity)
            .where(Activity.customer_id.in_(list(customer_ids)))
            .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        )
    )


def anonymous_ids_of(session: Session, customer_ids: Sequence[int]) -> list[str]:
    return list(
        session.scalars(
            select(AnonymousLink.anonymous_id)
            .where(AnonymousLink.customer_id.in_(list(customer_ids)))
            .order_by(AnonymousLink.anonymous_id)
        )
    )
