"""Queries over merges and merge reviews."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from omniretail.customers.models import (
    Merge,
    MergeReview,
)

# --- merges and reviews ----------------------------------------------------------------------


def add_merge(session: Session, merge: Merge) -> Merge:
    session.add(merge)
    session.flush()
    return merge


def get_merge(session: Session, merge_id: int) -> Merge | None:
    return session.get(Merge, merge_id)


def lock_merge(session: Session, merge_id: int) -> Merge | None:
    return session.scalars(select(Merge).where(Merge.id == merge_id).with_for_update()).first()


def list_merges(session: Session, customer_ids: Sequence[int]) -> list[Merge]:
    ids = list(customer_ids)
    return list(
        session.scalars(
            select(Merge)
            .where(or_(Merge.survivor_id.in_(ids), Merge.merged_id.in_(ids)))
            .order_by(Merge.id)
        )
    )


def add_review_if_new(session: Session, review: MergeReview) -> MergeReview | None:
    existing = session.scalars(
        select(MergeReview).where(
            MergeReview.customer_a == review.customer_a,
            MergeReview.customer_b == review.customer_b,
            MergeReview.rule == review.rule,
        )
    ).first()
    if existing is not None:
        return existing if existing.status == "open" else None
    session.add(review)
    session.flush()
    return review


def lock_review(session: Session, review_id: int) -> MergeReview | None:
    return session.scalars(
        select(MergeReview).where(MergeReview.id == review_id).with_for_update()
    ).first()


def list_reviews(session: Session, *, status: str | None, limit: int) -> list[MergeReview]:
    stmt = select(MergeReview).order_by(MergeReview.id).limit(limit)
    if status:
        stmt = stmt.where(MergeReview.status == status)
    return list(session.scalars(stmt))


def close_reviews_within(
    session: Session, customer_ids: list[int], merge_id: int, now: datetime, actor: str
) -> None:
    """Open reviews of two of ``customer_ids`` (now one profile) are settled by ``merge_id``."""
    session.execute(
        update(MergeReview)
        .where(
            MergeReview.customer_a.in_(customer_ids),
            MergeReview.customer_b.in_(customer_ids),
            MergeReview.status == "open",
        )
        .values(status="merged", merge_id=merge_id, decided_at=now, decided_by=actor)
    )


def close_reviews_of(session: Session, customer_id: int, now: datetime, actor: str) -> None:
    session.execute(
        update(MergeReview)
        .where(
            or_(MergeReview.customer_a == customer_id, MergeReview.customer_b == customer_id),
            MergeReview.status == "open",
        )
        .values(status="rejected", decided_at=now, decided_by=actor, explanation="customer erased")
    )
