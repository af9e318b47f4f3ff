"""Queries over the coupons the programme issued (``loyalty_coupon_grants``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from omniretail.db.sql import insert_for, insert_ignore
from omniretail.loyalty.models import CouponGrant, GoodwillDay

grants = cast(Table, CouponGrant.__table__)
goodwill_days = cast(Table, GoodwillDay.__table__)


def add_grant_if_new(session: Session, values: dict[str, Any]) -> bool:
    """``INSERT ... ON CONFLICT DO NOTHING`` on (customer, kind, period): True for the one
    caller that wrote it. A concurrent writer of the same key waits for the first to commit
    (PostgreSQL) and then writes nothing."""
    stmt = insert_ignore(session, grants, [values], ["customer_id", "kind", "period"])
    return bool(session.execute(stmt.returning(grants.c.id)).first())


def list_grants(session: Session, customer_ids: Sequence[int]) -> list[CouponGrant]:
    return list(
        session.scalars(
            select(CouponGrant)
            .where(CouponGrant.customer_id.in_(list(customer_ids)))
            .order_by(CouponGrant.issued_at.desc(), CouponGrant.id.desc())
        )
    )


def customer_goodwill_key(root_id: int) -> str:
    """The ``loyalty_goodwill_days.actor`` of the goodwill one customer (their surviving
    profile) received: no colon, so never a person's ``role:name``."""
    return f"to customer {root_id}"


def count_goodwill(session: Session, actor: str, day: date, points: int, limit: int) -> bool:
    """Adds ``points`` to ``actor``'s goodwill of ``day`` (a person's credits, or a
    customer's receipts: ``customer_goodwill_key``) unless that would pass ``limit``: one
    conditional upsert (the row's lock orders parallel credits), True when counted."""
    if points > limit:
        return False
    insert = insert_for(session)(goodwill_days).values(actor=actor, day=day, points=points)
    total = goodwill_days.c.points + insert.excluded.points
    stmt = insert.on_conflict_do_update(
        index_elements=["actor", "day"], set_={"points": total}, where=total <= limit
    ).returning(goodwill_days.c.points)
    return session.execute(stmt).first() is not None
