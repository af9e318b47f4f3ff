"""Queries over promotions, coupons and their redemptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Row,
    Table,
    and_,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    table,
    true,
    update,
)
from sqlalchemy.orm import Session

from omniretail.db.sql import rowcount
from omniretail.pricing.customer_facts import stored_segment, stored_tier
from omniretail.pricing.engine import PricingContext
from omniretail.pricing.models import Coupon, CouponRedemption, PricingStamp, Promotion

promotions = cast(Table, Promotion.__table__)
coupons = cast(Table, Coupon.__table__)
redemptions = cast(Table, CouponRedemption.__table__)
stamps = cast(Table, PricingStamp.__table__)
PROMOTIONS_STAMP = "promotions"
# Facts about the customer a condition may name (read in the same statement, by name only).
_orders = table("orders", column("customer_id"))
# A coupon's owner and the customer using it are the same person when their profiles lead to
# the same surviving one (a merge points every alias straight at it).
_profiles = table("customers", column("id"), column("merged_into_id"))


def _in_window(t: Table, at: datetime) -> Any:
    return and_(
        t.c.active == true(),
        or_(t.c.valid_from.is_(None), t.c.valid_from <= at),
        or_(t.c.valid_to.is_(None), t.c.valid_to > at),
    )


def _customer_uses(customer_id: int | None) -> Any:
    return (
        select(func.count())
        .select_from(redemptions)
        .where(
            redemptions.c.coupon_code == coupons.c.code,
            redemptions.c.customer_id == customer_id,
            redemptions.c.returned_at.is_(None),
        )
        .scalar_subquery()
    )


def _person(customer_id: Any) -> Any:
    """Scalar subquery: the surviving profile of ``customer_id`` (a column or a value)."""
    p = _profiles.alias()
    return (
        select(func.coalesce(p.c.merged_into_id, p.c.id)).where(p.c.id == customer_id)
    ).scalar_subquery()


def _owned_by(customer_id: int | None) -> Any:
    """A coupon anyone may use, or one issued to this customer (any of their profiles);
    a coupon with an owner is never usable by an anonymous cart."""
    if customer_id is None:
        return coupons.c.customer_id.is_(None)
    return or_(
        coupons.c.customer_id.is_(None),
        coupons.c.customer_id == customer_id,
        _person(coupons.c.customer_id) == _person(literal(customer_id)),
    )


def _usable(at: datetime, customer_id: int | None, extra: Decimal = Decimal(0)) -> Any:
    """A coupon that can be used now: active, in its window, uses and budget left, its
    owner's (when it has one), and under its per-customer limit (a per-customer coupon needs
    a known customer)."""
    per_customer = (
        coupons.c.per_customer.is_(None)
        if customer_id is None
        else or_(
            coupons.c.per_customer.is_(None), _customer_uses(customer_id) < coupons.c.per_customer
        )
    )
    return and_(
        _in_window(coupons, at),
        or_(coupons.c.max_uses.is_(None), coupons.c.uses < coupons.c.max_uses),
        or_(coupons.c.budget.is_(None), coupons.c.spent + extra < coupons.c.budget)
        if extra == 0
        else or_(coupons.c.budget.is_(None), coupons.c.spent + extra <= coupons.c.budget),
        _owned_by(customer_id),
        per_customer,
    )


_NO_COUPON = (
    null().label("coupon"),
    null().label("promotion"),
    null().label("budget_left"),
    null().label("owner"),
)


@dataclass(frozen=True)
class ReadStamp:
    """The promotions stamp as another statement read it (``PROMOTIONS_STAMP_COLUMN``);
    ``value`` None: there is no stamp row yet."""

    value: int | None


# The promotions stamp (whether this process's copy of them is current), as a value.
_STAMP = select(stamps.c.stamp).where(stamps.c.name == PROMOTIONS_STAMP).scalar_subquery()
# ... as a column of another statement.
PROMOTIONS_STAMP_COLUMN = _STAMP.label("promotions_stamp")
# Built once: the promotions facts of an anonymous cart without coupons.
_ANONYMOUS_FACTS = select(
    _STAMP.label("stamp"),
    null().label("orders"),
    null().label("tier"),
    null().label("segment"),
    *_NO_COUPON,
)


def _customer_facts(customer: Any) -> list[Any]:
    """The customer's order count, stored loyalty tier and RFM segment, as columns."""
    return [
        select(func.count())
        .select_from(_orders)
        .where(_orders.c.customer_id == customer)
        .scalar_subquery()
        .label("orders"),
        stored_tier(customer).scalar_subquery().label("tier"),
        stored_segment(customer).scalar_subquery().label("segment"),
    ]


# Built once: the promotions facts of a signed-in shopper's cart without coupons.
_CUSTOMER_FACTS = select(
    _STAMP.label("stamp"),
    *_customer_facts(bindparam("customer_id", type_=Integer)),
    *_NO_COUPON,
)


def only_stamp(context: PricingContext) -> bool:
    """An anonymous cart without coupons (most pricing calls): of the promotions facts only
    the stamp applies, which ``PROMOTIONS_STAMP_COLUMN`` lets another statement read."""
    return not context.coupons and context.customer_id is None


def pricing_call_facts(session: Session, context: PricingContext) -> list[Row[Any]]:
    """What each pricing call reads about promotions, in one statement: the ``promotions``
    stamp (whether this process's copy of them is current), the customer's order count,
    loyalty tier and stored RFM segment, and each code the context applies that the customer
    can use now (their own or anyone's), with its promotion, budget left and owner. One row
    per such coupon, or one row without."""
    codes = sorted(set(context.coupons))
    if only_stamp(context):
        return list(session.execute(_ANONYMOUS_FACTS))
    if not codes:  # a signed-in shopper without coupons: built once, the customer bound
        return list(session.execute(_CUSTOMER_FACTS, {"customer_id": context.customer_id}))
    stamp = _STAMP.label("stamp")
    if context.customer_id is None:
        facts: list[Any] = [null().label("orders"), null().label("tier"), null().label("segment")]
    else:
        facts = _customer_facts(context.customer_id)
    one = select(literal(1).label("one")).subquery("one")
    stmt = select(
        stamp,
        *facts,
        coupons.c.code.label("coupon"),
        coupons.c.promotion_code.label("promotion"),
        (coupons.c.budget - coupons.c.spent).label("budget_left"),
        coupons.c.customer_id.label("owner"),
    ).select_from(
        one.outerjoin(
            coupons, and_(coupons.c.code.in_(codes), _usable(context.at, context.customer_id))
        )
    )
    return list(session.execute(stmt))


def all_active_promotions(session: Session) -> list[Row[Any]]:
    """Every active promotion, in or out of its window (the in-process copy)."""
    return list(
        session.execute(
            select(
                promotions.c.code,
                promotions.c.name,
                promotions.c.condition,
                promotions.c.effect,
                promotions.c.currency,
                promotions.c.priority,
                promotions.c.exclusive,
                promotions.c.requires_coupon,
                promotions.c.valid_from,
                promotions.c.valid_to,
            )
            .where(promotions.c.active == true())
            .order_by(promotions.c.code)
        )
    )


# --- promotions


def get_promotion(session: Session, code: str) -> Row[Any] | None:
    return session.execute(select(promotions).where(promotions.c.code == code)).first()


def list_promotions(session: Session, limit: int) -> list[Row[Any]]:
    return list(session.execute(select(promotions).order_by(promotions.c.code).limit(limit)))


def insert_promotion(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(promotions).values(**values))


def update_promotion(session: Session, code: str, values: dict[str, Any]) -> None:
    session.execute(update(promotions).where(promotions.c.code == code).values(**values))


def delete_promotion(session: Session, code: str) -> bool:
    return rowcount(session.execute(delete(promotions).where(promotions.c.code == code))) > 0


def promotion_in_use(session: Session, code: str) -> bool:
    return (
        session.execute(
            select(coupons.c.code).where(coupons.c.promotion_code == code).limit(1)
        ).first()
        is not None
    )


# --- coupons


def get_coupon(session: Session, code: str) -> Row[Any] | None:
    return session.execute(select(coupons).where(coupons.c.code == code)).first()


def coupon_exists(session: Session, codes: Sequence[str]) -> list[str]:
    return list(session.scalars(select(coupons.c.code).where(coupons.c.code.in_(codes))))


def usable_coupon(
    session: Session, code: str, at: datetime, customer_id: int | None
) -> Row[Any] | None:
    return session.execute(
        select(coupons.c.code).where(coupons.c.code == code, _usable(at, customer_id))
    ).first()


def owned_by(session: Session, code: str, customer_id: int | None) -> bool:
    """The coupon is anyone's or this customer's (``_owned_by``)."""
    found = session.execute(
        select(coupons.c.code).where(coupons.c.code == code, _owned_by(customer_id))
    ).first()
    return found is not None


def insert_coupons(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    session.execute(insert(coupons), list(rows))


def list_coupons(
    session: Session, promotion: str | None, batch: str | None, limit: int | None
) -> list[Row[Any]]:
    stmt = select(coupons).order_by(coupons.c.code)
    if promotion is not None:
        stmt = stmt.where(coupons.c.promotion_code == promotion)
    if batch is not None:
        stmt = stmt.where(coupons.c.batch == batch)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt))


def update_coupon(session: Session, code: str, values: dict[str, Any]) -> None:
    session.execute(update(coupons).where(coupons.c.code == code).values(**values))


def delete_coupon(session: Session, code: str) -> bool:
    return rowcount(session.execute(delete(coupons).where(coupons.c.code == code))) > 0


def coupon_used(session: Session, code: str) -> bool:
    return (
        session.execute(
            select(redemptions.c.id).where(redemptions.c.coupon_code == code).limit(1)
        ).first()
        is not None
    )


def take_use(
    session: Session, code: str, amount: Decimal, at: datetime, customer_id: int | None
) -> bool:
    """One use and ``amount`` of budget, only while the coupon is usable: the conditional
    UPDATE that keeps ``max_uses`` and ``budget`` under concurrency (the row is locked and
    the condition checked again on the row as committed). The per-customer count is in that
    condition too, but a waiting UPDATE rechecks it on its first snapshot, which misses the
    redemption of the transaction it waited for: so, holding the coupon's row lock, the count
    is read again by a new statement (a new snapshot, on PostgreSQL) before saying yes."""
    stmt = (
        update(coupons)
        .where(coupons.c.code == code, _usable(at, customer_id, amount))
        .values(uses=coupons.c.uses + 1, spent=coupons.c.spent + amount)
        .returning(coupons.c.per_customer)
    )
    taken = session.execute(stmt).first()
    if taken is None:
        return False
    if taken.per_customer is None or customer_id is None:
        return True
    used = session.execute(
        select(func.count())
        .select_from(redemptions)
        .where(
            redemptions.c.coupon_code == code,
            redemptions.c.customer_id == customer_id,
            redemptions.c.returned_at.is_(None),
        )
    ).scalar_one()
    return int(used) < int(taken.per_customer)


def insert_redemption(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(redemptions).values(**values))


def open_redemptions(session: Session, order_number: str) -> list[Row[Any]]:
    return list(
        session.execute(
            select(redemptions).where(
                redemptions.c.order_number == order_number, redemptions.c.returned_at.is_(None)
            )
        )
    )


def give_back(
    session: Session, redemption_id: int, code: str, amount: Decimal, at: datetime
) -> bool:
    """Marks the redemption returned (once) and gives its use and budget back."""
    marked = session.execute(
        update(redemptions)
        .where(redemptions.c.id == redemption_id, redemptions.c.returned_at.is_(None))
        .values(returned_at=at)
    )
    if rowcount(marked) != 1:
        return False
    session.execute(
        update(coupons)
        .where(coupons.c.code == code)
        .values(uses=coupons.c.uses - 1, spent=coupons.c.spent - amount)
    )
    return True


# --- uses (the console's coupon and promotion pages)


def search_coupons(
    session: Session, starting: str, promotion: str | None, limit: int
) -> list[Row[Any]]:
    """Coupons whose code starts with ``starting`` (the codes are upper case)."""
    stmt = (
        select(coupons)
        .where(coupons.c.code >= starting, coupons.c.code < starting + "\uffff")
        .order_by(coupons.c.code)
        .limit(limit)
    )
    if promotion is not None:
        stmt = stmt.where(coupons.c.promotion_code == promotion)
    return list(session.execute(stmt))


def list_redemptions(
    session: Session, coupon: str | None, promotion: str | None, limit: int | None
) -> list[Row[Any]]:
    """Redemptions of one coupon, or of every coupon of a promotion, newest first."""
    stmt = select(redemptions).order_by(redemptions.c.redeemed_at.desc(), redemptions.c.id.desc())
    if coupon is not None:
        stmt = stmt.where(redemptions.c.coupon_code == coupon)
    if promotion is not None:
        stmt = stmt.join(coupons, coupons.c.code == redemptions.c.coupon_code).where(
            coupons.c.promotion_code == promotion
        )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt))


def redemptions_by_promotion(session: Session) -> list[Row[Any]]:
    """Every coupon redemption with its coupon's promotion (``promotion_code``), newest first."""
    stmt = (
        select(redemptions, coupons.c.promotion_code)
        .join(coupons, coupons.c.code == redemptions.c.coupon_code)
        .order_by(redemptions.c.redeemed_at.desc(), redemptions.c.id.desc())
    )
    return list(session.execute(stmt))
