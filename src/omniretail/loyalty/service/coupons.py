"""Coupons: issued once per source, redeemed once in any channel."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import repository as repo
from omniretail.loyalty.errors import (
    CouponNotRedeemable,
    UnknownCoupon,
)
from omniretail.loyalty.events import (
    CouponIssued,
    CouponRedeemed,
)
from omniretail.loyalty.models import (
    Coupon,
)
from omniretail.loyalty.schemas import (
    CouponRead,
    CouponRedeem,
)

# --- coupons -------------------------------------------------------------------------------


def issue_coupon(
    uow: UnitOfWork,
    customer_id: int | None,
    *,
    kind: str,
    description: str,
    discount: Decimal,
    valid_days: int,
    source_key: str,
) -> CouponRead | None:
    """Issues a coupon once per ``source_key``; None when it was issued before."""
    coupon = repo.add_coupon_if_new(
        uow.session,
        Coupon(
            code=secrets.token_hex(5).upper(),
            customer_id=customer_id,
            kind=kind,
            description=description,
            discount=discount,
            status="issued",
            source_key=source_key,
            issued_at=uow.now,
            valid_until=uow.now + timedelta(days=valid_days),
        ),
    )
    if coupon is None:
        return None
    uow.record(CouponIssued(customer_id=customer_id or 0, code=coupon.code, kind=kind))
    return coupon_read(coupon)


def redeem_coupon(uow: UnitOfWork, code: str, data: CouponRedeem, *, actor: str) -> CouponRead:
    """Any channel, once: a conditional UPDATE decides which request wins."""
    ids = customers.cluster(uow, data.customer_id) if data.customer_id is not None else None
    coupon = repo.redeem_coupon_if_issued(
        uow.session, code.strip().upper(), ids, uow.now, data.channel, data.reference
    )
    if coupon is None:
        existing = repo.get_coupon(uow.session, code.strip().upper())
        if existing is None:
            raise UnknownCoupon(f"no coupon {code!r}", field="code")
        why = (
            f"it is {existing.status}"
            if existing.status != "issued"
            else "it has expired or belongs to another customer"
        )
        raise CouponNotRedeemable(f"coupon {code} cannot be redeemed: {why}", field="code")
    uow.record(
        CouponRedeemed(
            customer_id=coupon.customer_id or 0,
            code=coupon.code,
            channel=data.channel,
            actor=actor,
        )
    )
    return coupon_read(coupon)


def list_coupons(uow: UnitOfWork, customer_id: int) -> list[CouponRead]:
    return [
        coupon_read(c) for c in repo.list_coupons(uow.session, customers.cluster(uow, customer_id))
    ]


MASKED_CODE = "••••••"


def masked_coupons(coupons: list[CouponRead]) -> list[CouponRead]:
    """``coupons`` without their codes, for staff who may not hold one: the code is what the
    customer shows to spend it."""
    return [c.model_copy(update={"code": MASKED_CODE}) for c in coupons]


def coupon_read(c: Coupon) -> CouponRead:
    return CouponRead(
        code=c.code,
        customer_id=c.customer_id,
        kind=c.kind,
        description=c.description,
        discount=c.discount,
        status=c.status,
        issued_at=c.issued_at,
        valid_until=c.valid_until,
        redeemed_at=c.redeemed_at,
        redeemed_channel=c.redeemed_channel,
    )
