"""Queries on the segment tables (``segments_models``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from omniretail.marketing.segments_models import Segment, SegmentMember


def get(session: Session, segment_id: int) -> Segment | None:
    return session.get(Segment, segment_id)


def by_name(session: Session, name: str) -> Segment | None:
    return session.scalars(select(Segment).where(Segment.name == name)).first()


def all_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def lock_segments(session: Session, ids: Sequence[int] | None = None) -> list[Segment]:
    """The segments (all, or ``ids``) locked in id order, so membership changes of one
    segment never interleave (a refresh batch and a live evaluation)."""
    query = select(Segment).order_by(Segment.id).with_for_update()
    if ids is not None:
        query = query.where(Segment.id.in_(ids))
    return list(session.scalars(query))


def members_among(session: Session, segment_id: int, ids: Sequence[int]) -> set[int]:
    rows = session.execute(
        select(SegmentMember.customer_id).where(
            SegmentMember.segment_id == segment_id, SegmentMember.customer_id.in_(ids)
        )
    )
    return {row[0] for row in rows}


def memberships_of(session: Session, customer_id: int) -> set[int]:
    rows = session.execute(
        select(SegmentMember.segment_id).where(SegmentMember.customer_id == customer_id)
    )
    return {row[0] for row in rows}


def memberships_among(session: Session, customer_ids: Sequence[int]) -> dict[int, set[int]]:
    """Segment id -> those of ``customer_ids`` who are its members."""
    found: dict[int, set[int]] = {}
    rows = session.execute(
        select(SegmentMember.segment_id, SegmentMember.customer_id).where(
            SegmentMember.customer_id.in_(list(customer_ids))
        )
    )
    for segment_id, customer_id in rows:
        found.setdefault(segment_id, set()).add(customer_id)
    return found


def add_members(session: Session, segment_id: int, ids: Sequence[int], at: datetime) -> None:
    if ids:
        session.execute(
            insert(SegmentMember),
            [{"segment_id": segment_id, "customer_id": i, "entered_at": at} for i in ids],
        )


def remove_members(session: Session, segment_id: int, ids: Sequence[int]) -> None:
    if ids:
        session.execute(
            delete(SegmentMember).where(
                SegmentMember.segment_id == segment_id, SegmentMember.customer_id.in_(ids)
            )
        )


def remove_members_above(session: Session, segment_id: int, after: int) -> list[int]:
    """Members with an id above ``after`` (customers no longer active at the end of a
    refresh), removed and returned."""
    ids = [
        row[0]
        for row in session.execute(
            select(SegmentMember.customer_id).where(
                SegmentMember.segment_id == segment_id, SegmentMember.customer_id > after
            )
        )
    ]
    remove_members(session, segment_id, ids)
    return ids


def change_count(session: Session, segment_id: int, delta: int) -> None:
    if delta:
        session.execute(
            update(Segment)
            .where(Segment.id == segment_id)
            .values(member_count=Segment.member_count + delta)
        )


def members_page(
    session: Session, segment_id: int, *, after: int, limit: int
) -> list[SegmentMember]:
    return list(
        session.scalars(
            select(SegmentMember)
            .where(SegmentMember.segment_id == segment_id, SegmentMember.customer_id > after)
            .order_by(SegmentMember.customer_id)
            .limit(limit)
        )
    )


def count_members(session: Session, segment_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(SegmentMember.customer_id)).where(
                SegmentMember.segment_id == segment_id
            )
        )
        or 0
    )
