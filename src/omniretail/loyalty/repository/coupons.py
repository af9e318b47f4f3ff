"""Queries over coupons."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from omniretail.loyalty.models import (
    Coupon,
    CouponStatus,
)
from omniretail.loyalty.repository.programmes import coupons


def add_coupon_if_new(session: Session, coupon: Coupon) -> Coupon | None:
    existing = session.scalars(select(Coupon).where(Coupon.source_key == coupon.source_key)).first()
    if existing is not None:
        return None
    session.add(coupon)
    session.flush()
    return coupon


def redeem_coupon_if_issued(
    session: Session,
    code: str,
    customer_ids: Sequence[int] | None,
    now: datetime,
    channel: str,
    reference: str | None,
) -> Coupon | None:
    """One conditional UPDATE: a coupon is redeemed once, in whichever channel asks first."""
    stmt = (
        update(coupons)
        .where(
            coupons.c.code == code,
            coupons.c.status == CouponStatus.ISSUED.value,
            coupons.c.valid_until >= now,
        )
        .values(
            status=CouponStatus.REDEEMED.value,
            redeemed_at=now,
            redeemed_channel=channel,
            redeemed_reference=reference,
        )
        .returning(coupons.c.code)
    )
    if customer_ids is not None:
        stmt = stmt.where(
            coupons.c.customer_id.is_(None) | coupons.c.customer_id.in_(list(customer_ids))
        )
    if session.execute(stmt).first() is None:
        return None
    return session.get(Coupon, code, populate_existing=True)


def get_coupon(session: Session, code: str) -> Coupon | None:
    return session.get(Coupon, code)


def list_coupons(session: Session, customer_ids: Sequence[int]) -> list[Coupon]:
    return list(
        session.scalars(
            select(Coupon)
            .where(Coupon.customer_id.in_(list(customer_ids)))
            .order_by(Coupon.issued_at.desc())
        )
    )
