"""Coupons the programme gives (birthday, welcome) as pricing coupons: a code of the
customer's own (the coupon's owner: no one else may use it), usable once, unlocking the
promotion the rule names, so the shop's checkout, the till and the quote API treat it like any
other coupon (``pricing.service``).

One grant per customer, kind and period (``loyalty_coupon_grants``, unique): the grant row is
written first with ``ON CONFLICT DO NOTHING`` and the coupon only by the caller that wrote it,
so a re-run or a second worker running the same sweep issues nothing more. The customer hears
of it through the outbox (``CouponIssued`` -> ``loyalty.notify_coupon``)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import repository as repo
from omniretail.loyalty.errors import UnknownCouponPromotion
from omniretail.loyalty.events import CouponIssued
from omniretail.loyalty.models import CouponGrant
from omniretail.loyalty.schemas import CouponRule, ProgrammeRules, RewardCouponRead
from omniretail.pricing import service as pricing
from omniretail.pricing.errors import UnknownCoupon, UnknownPromotion
from omniretail.pricing.schemas import CouponWrite

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
_PREFIX = {"birthday": "BDAY", "welcome": "WELCOME"}
_DESCRIPTION = {"birthday": "Happy birthday", "welcome": "Welcome"}


def grant_coupon(
    uow: UnitOfWork, customer_id: int, kind: str, period: str, rule: CouponRule
) -> RewardCouponRead | None:
    """Issues the ``kind`` coupon of ``period`` to the customer, once; None when it was
    issued before (by this run, an earlier one or a concurrent one)."""
    assert rule.promotion is not None
    code = f"{_PREFIX[kind]}-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))
    valid_until = uow.now + timedelta(days=rule.valid_days)
    description = rule.description or _DESCRIPTION[kind]
    values = {
        "customer_id": customer_id,
        "kind": kind,
        "period": period,
        "coupon_code": code,
        "promotion": rule.promotion,
        "description": description,
        "issued_at": uow.now,
        "valid_until": valid_until,
    }
    if not repo.add_grant_if_new(uow.session, values):
        return None
    try:
        pricing.create_coupon(
            uow,
            CouponWrite(
                code=code,
                promotion=rule.promotion,
                customer_id=customer_id,
                max_uses=1,
                per_customer=1,
                valid_from=uow.now,
                valid_to=valid_until,
            ),
            actor="system:loyalty",
        )
    except UnknownPromotion as exc:
        raise UnknownCouponPromotion(
            f"the {kind} coupon's promotion {rule.promotion!r} does not exist", field="promotion"
        ) from exc
    uow.record(
        CouponIssued(
            customer_id=customer_id,
            code=code,
            kind=kind,
            promotion=rule.promotion,
            valid_until=valid_until.isoformat(),
        )
    )
    return RewardCouponRead(
        code=code,
        customer_id=customer_id,
        kind=kind,
        period=period,
        promotion=rule.promotion,
        description=description,
        issued_at=uow.now,
        valid_until=valid_until,
        used=False,
    )


def grant_welcome_coupon(uow: UnitOfWork, customer_id: int, programme: ProgrammeRules) -> None:
    """The welcome coupon, once ever (when the rules have one)."""
    rule = programme.welcome_coupon
    if rule is not None and rule.promotion is not None:
        grant_coupon(uow, customer_id, "welcome", "once", rule)


def require_coupon_promotions(uow: UnitOfWork, programme: ProgrammeRules) -> None:
    """Refuses rules whose coupons unlock a promotion that does not exist."""
    for name, rule in (
        ("birthday_coupon", programme.birthday_coupon),
        ("welcome_coupon", programme.welcome_coupon),
    ):
        if rule is None or rule.promotion is None:
            continue
        try:
            pricing.get_promotion(uow, rule.promotion)
        except UnknownPromotion as exc:
            raise UnknownCouponPromotion(
                f"no promotion {rule.promotion!r} for the {name.replace('_', ' ')}",
                field=f"{name}.promotion",
            ) from exc


def list_reward_coupons(uow: UnitOfWork, customer_id: int) -> list[RewardCouponRead]:
    """The programme's coupons of the customer's profile cluster, newest first, with whether
    each has been used."""
    found = []
    for grant in repo.list_grants(uow.session, customers.cluster(uow, customer_id)):
        found.append(_read(uow, grant))
    return found


def _read(uow: UnitOfWork, grant: CouponGrant) -> RewardCouponRead:
    try:
        used = pricing.get_coupon(uow, grant.coupon_code).uses > 0
    except UnknownCoupon:  # deleted at HQ: nothing left to use
        used = True
    return RewardCouponRead(
        code=grant.coupon_code,
        customer_id=grant.customer_id,
        kind=grant.kind,
        period=grant.period,
        promotion=grant.promotion,
        description=grant.description,
        issued_at=grant.issued_at,
        valid_until=grant.valid_until,
        used=used,
    )
