"""Promotion and coupon use cases: the promotions step of each pricing call, CRUD, bulk
coupon codes and their CSV, coupon checks for carts, redemption at checkout (a conditional
UPDATE in the checkout's transaction) and giving uses back when an order is cancelled."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from omniretail.customers import service as customers
from omniretail.customers.errors import UnknownCustomer
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.money import fits_currency
from omniretail.pricing import promotion_repository as repo
from omniretail.pricing import promotion_rules
from omniretail.pricing.engine import PricedCart, PricingContext
from omniretail.pricing.errors import (
    AmountTooPrecise,
    CouponExists,
    CouponOfAnotherCustomer,
    CouponUnavailable,
    InvalidPromotion,
    PriceListInUse,
    UnknownCoupon,
    UnknownPromotion,
)
from omniretail.pricing.events import (
    CouponDeleted,
    CouponsCreated,
    CouponStateChanged,
    PromotionDeleted,
    PromotionPaused,
    PromotionResumed,
    PromotionSaved,
)
from omniretail.pricing.promotion_index import (
    CouponRow,
    IndexedPromotionsStep,
    build_index,
    cached_index,
    keep_index,
)
from omniretail.pricing.promotion_repository import ReadStamp
from omniretail.pricing.promotion_rules import (
    ConditionError,
    compile_condition,
    redeemed_amounts,
)
from omniretail.pricing.schemas import (
    CouponBatchRead,
    CouponBatchWrite,
    CouponRead,
    CouponRedemptionRead,
    CouponWrite,
    PromotionRead,
    PromotionWrite,
)

MAX_COUPONS = 5  # codes one cart may apply
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def load_step(
    uow: UnitOfWork, context: PricingContext, stamp: ReadStamp | None = None
) -> tuple[PricingContext, IndexedPromotionsStep]:
    """The promotions in force for the context: one statement (the promotions' stamp, whether
    the customer has ordered before, their loyalty tier and RFM segment unless the context
    says, and the applied coupons they can use) and, when another process changed the
    promotions since this one loaded them, a second one reloading them (``promotion_index``).
    ``stamp``: read already with the SKUs; for an anonymous cart without coupons it is all
    the first statement would read, so it is not sent."""
    if stamp is not None and repo.only_stamp(context):
        rows: list[Any] = []
        current = stamp.value
    else:
        rows = repo.pricing_call_facts(uow.session, context)
        current = rows[0].stamp
    index = cached_index(uow.cache, current)
    if index is None:
        index = build_index(current, repo.all_active_promotions(uow.session))
        keep_index(uow.cache, index)
    applied = tuple(
        CouponRow(code=r.coupon, promotion=r.promotion, budget_left=r.budget_left, owner=r.owner)
        for r in rows
        if r.coupon is not None
    )
    if context.customer_id is not None and index.any_in_force(context, applied):
        first = rows[0]
        context = replace(
            context,
            first_order=context.first_order
            if context.first_order is not None
            else not first.orders,
            tier=context.tier or first.tier,
            segments=context.segments or frozenset([first.segment] if first.segment else []),
        )
    return context, IndexedPromotionsStep(index, applied)


# --- promotions


def save_promotion(
    uow: UnitOfWork, code: str, data: PromotionWrite, *, actor: str
) -> PromotionRead:
    if data.condition:
        try:
            compile_condition(data.condition)
        except ConditionError as exc:
            raise InvalidPromotion(f"the condition is {exc}", field="condition") from exc
    effect = data.effect.model_dump(mode="json", exclude_none=True)
    if data.currency is not None:
        for key in ("amount", "price"):
            if key in effect and not fits_currency(Decimal(effect[key]), data.currency):
                raise AmountTooPrecise(
                    f"{effect[key]} is finer than {data.currency} allows", field=f"effect.{key}"
                )
    values = {
        "name": data.name,
        "condition": data.condition or None,
        "effect": effect,
        "currency": data.currency,
        "priority": data.priority,
        "exclusive": data.exclusive,
        "requires_coupon": data.requires_coupon,
        "valid_from": data.valid_from,
        "valid_to": data.valid_to,
        "active": data.active,
        "updated_at": uow.now,
    }
    created = repo.get_promotion(uow.session, code) is None
    if created:
        repo.insert_promotion(uow.session, {"code": code, "created_at": uow.now, **values})
    else:
        repo.update_promotion(uow.session, code, values)
    uow.record(
        PromotionSaved(
            code=code,
            name=data.name,
            effect_type=data.effect.type,
            priority=data.priority,
            exclusive=data.exclusive,
            requires_coupon=data.requires_coupon,
            valid_from=data.valid_from.isoformat() if data.valid_from else None,
            valid_to=data.valid_to.isoformat() if data.valid_to else None,
            active=data.active,
            created=created,
            actor=actor,
        )
    )
    return get_promotion(uow, code)


def set_promotion_active(uow: UnitOfWork, code: str, active: bool, *, actor: str) -> PromotionRead:
    """Pauses (``active`` false) or resumes the promotion; an event only when it changes."""
    current = get_promotion(uow, code)
    if current.active == active:
        return current
    repo.update_promotion(uow.session, code, {"active": active, "updated_at": uow.now})
    uow.record(
        PromotionResumed(code=code, actor=actor)
        if active
        else PromotionPaused(code=code, actor=actor)
    )
    return get_promotion(uow, code)


def get_promotion(uow: UnitOfWork, code: str) -> PromotionRead:
    row = repo.get_promotion(uow.session, code)
    if row is None:
        raise UnknownPromotion(f"no promotion with code {code!r}", field="code")
    return _promotion_read(row)


def list_promotions(uow: UnitOfWork, limit: int = 200) -> list[PromotionRead]:
    return [_promotion_read(r) for r in repo.list_promotions(uow.session, limit)]


def delete_promotion(uow: UnitOfWork, code: str, *, actor: str) -> None:
    get_promotion(uow, code)
    if repo.promotion_in_use(uow.session, code):
        raise PriceListInUse(
            "the promotion has coupons; pause it (active: false) instead", field="code"
        )
    repo.delete_promotion(uow.session, code)
    uow.record(PromotionDeleted(code=code, actor=actor))


def _promotion_read(row: Any) -> PromotionRead:
    return PromotionRead(
        code=row.code,
        name=row.name,
        condition=row.condition,
        effect=row.effect,
        currency=row.currency,
        priority=row.priority,
        exclusive=row.exclusive,
        requires_coupon=row.requires_coupon,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- coupons


def create_coupon(uow: UnitOfWork, data: CouponWrite, *, actor: str) -> CouponRead:
    """A coupon; with ``customer_id``, only that customer (any of their profiles) may use it."""
    get_promotion(uow, data.promotion)
    if data.customer_id is not None and not customers.customer_exists(uow, data.customer_id):
        raise UnknownCustomer(f"no customer with id {data.customer_id}", field="customer_id")
    if repo.get_coupon(uow.session, data.code) is not None:
        raise CouponExists(f"a coupon {data.code!r} exists", field="code")
    values = _coupon_values(uow, data, data.code, None)
    repo.insert_coupons(uow.session, [{**values, "customer_id": data.customer_id}])
    uow.record(
        CouponsCreated(
            promotion=data.promotion,
            code=data.code,
            batch=None,
            count=1,
            max_uses=data.max_uses,
            customer_id=data.customer_id,
            actor=actor,
        )
    )
    return get_coupon(uow, data.code)


def generate_coupons(uow: UnitOfWork, data: CouponBatchWrite, *, actor: str) -> CouponBatchRead:
    """``count`` unique random codes (prefix + 10 characters, about 50 bits) in a batch."""
    get_promotion(uow, data.promotion)
    codes: set[str] = set()
    while len(codes) < data.count:
        wanted = data.count - len(codes)
        fresh = {
            data.prefix + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
            for _ in range(wanted)
        }
        taken = set(repo.coupon_exists(uow.session, sorted(fresh)))
        codes |= fresh - taken
    rows = [_coupon_values(uow, data, code, data.batch) for code in sorted(codes)]
    repo.insert_coupons(uow.session, rows)
    uow.record(
        CouponsCreated(
            promotion=data.promotion,
            code=None,
            batch=data.batch,
            count=len(rows),
            max_uses=data.max_uses,
            actor=actor,
        )
    )
    made = list_coupons(uow, batch=data.batch, limit=None)
    return CouponBatchRead(batch=data.batch, count=len(made), coupons=made)


def _coupon_values(uow: UnitOfWork, data: Any, code: str, batch: str | None) -> dict[str, Any]:
    return {
        "code": code,
        "promotion_code": data.promotion,
        "batch": batch,
        "customer_id": None,
        "max_uses": data.max_uses,
        "per_customer": data.per_customer,
        "uses": 0,
        "budget": data.budget,
        "spent": Decimal(0),
        "valid_from": data.valid_from,
        "valid_to": data.valid_to,
        "active": data.active,
        "created_at": uow.now,
    }


def get_coupon(uow: UnitOfWork, code: str) -> CouponRead:
    row = repo.get_coupon(uow.session, code.upper())
    if row is None:
        raise _unknown_coupon(code)
    return _coupon_read(row)


def _unknown_coupon(code: str) -> UnknownCoupon:
    return UnknownCoupon(f"no coupon with code {code!r}", field="code")


def list_coupons(
    uow: UnitOfWork,
    promotion: str | None = None,
    batch: str | None = None,
    limit: int | None = 500,
) -> list[CouponRead]:
    return [_coupon_read(r) for r in repo.list_coupons(uow.session, promotion, batch, limit)]


def set_coupon_active(uow: UnitOfWork, code: str, active: bool, *, actor: str) -> CouponRead:
    current = get_coupon(uow, code)
    if current.active == active:
        return current
    repo.update_coupon(uow.session, current.code, {"active": active})
    uow.record(CouponStateChanged(code=current.code, active=active, actor=actor))
    return get_coupon(uow, code)


def delete_coupon(uow: UnitOfWork, code: str, *, actor: str) -> None:
    get_coupon(uow, code)
    if repo.coupon_used(uow.session, code.upper()):
        raise CouponUnavailable("a used coupon is kept; deactivate it instead", field="code")
    repo.delete_coupon(uow.session, code.upper())
    uow.record(CouponDeleted(code=code.upper(), actor=actor))


def coupons_csv(coupons: Sequence[CouponRead]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "promotion", "batch", "max_uses", "uses", "valid_from", "valid_to"])
    for c in coupons:
        writer.writerow(
            [
                c.code,
                c.promotion,
                c.batch or "",
                "" if c.max_uses is None else c.max_uses,
                c.uses,
                c.valid_from.isoformat() if c.valid_from else "",
                c.valid_to.isoformat() if c.valid_to else "",
            ]
        )
    return out.getvalue()


def _coupon_read(row: Any) -> CouponRead:
    return CouponRead(
        code=row.code,
        promotion=row.promotion_code,
        batch=row.batch,
        customer_id=row.customer_id,
        max_uses=row.max_uses,
        per_customer=row.per_customer,
        uses=row.uses,
        budget=row.budget,
        spent=row.spent,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        active=row.active,
        created_at=row.created_at,
    )


# --- carts and checkout


def require_usable_coupon(uow: UnitOfWork, code: str, customer_id: int | None) -> str:
    """The code (upper case) when it exists and can be used now by the customer: the cart's
    customer (the authenticated one), never an id the client names. A coupon issued to
    someone else (or to anyone, for an anonymous cart) is answered as a code that does not
    exist, word for word (404 ``unknown-coupon``): a 409 told a shopper that a guessed code
    was somebody's personal coupon."""
    coupon = get_coupon(uow, code)
    if repo.usable_coupon(uow.session, coupon.code, uow.now, customer_id) is None:
        if not repo.owned_by(uow.session, coupon.code, customer_id):
            raise _unknown_coupon(code)
        raise CouponUnavailable(
            f"the coupon {coupon.code} cannot be used now"
            + (
                " (it is limited per customer: sign in)"
                if coupon.per_customer and customer_id is None
                else ""
            ),
            field="code",
        )
    return coupon.code


def redeem_coupons(
    uow: UnitOfWork, priced: PricedCart, order_number: str, customer_id: int | None
) -> dict[str, Decimal]:
    """Counts a use of each coupon that priced the cart (a conditional UPDATE, which also
    holds the coupon's owner). Raises ``CouponUnavailable`` when a limit or the budget has been
    reached meanwhile, or when an applied coupon can no longer be used (the shopper would pay
    more than they were shown); ``CouponOfAnotherCustomer`` when it is someone else's."""
    waived = priced.fee.adjustments if priced.fee else ()
    used = redeemed_amounts([a for ln in priced.lines for a in ln.adjustments] + list(waived))
    for code in priced.context.coupons:
        if code not in used and repo.usable_coupon(uow.session, code, uow.now, customer_id) is None:
            _refuse_if_not_theirs(uow, code, customer_id, field="coupons")
            raise CouponUnavailable(
                f"the coupon {code} can no longer be used; remove it to check out",
                field="coupons",
                code=code,
            )
    for code, amount in sorted(used.items()):
        if not repo.take_use(uow.session, code, amount, uow.now, customer_id):
            _refuse_if_not_theirs(uow, code, customer_id, field="coupons")
            raise CouponUnavailable(
                f"the coupon {code} has just reached its limit; remove it to check out",
                field="coupons",
                code=code,
            )
        repo.insert_redemption(
            uow.session,
            {
                "coupon_code": code,
                "order_number": order_number,
                "customer_id": customer_id,
                "amount": amount,
                "redeemed_at": uow.now,
                "returned_at": None,
            },
        )
    return used


def _refuse_if_not_theirs(
    uow: UnitOfWork, code: str, customer_id: int | None, *, field: str
) -> None:
    if repo.owned_by(uow.session, code, customer_id):
        return
    raise CouponOfAnotherCustomer(
        f"the coupon {code} belongs to another customer"
        + (": sign in as them to use it" if customer_id is None else ""),
        field=field,
        code=code,
    )


def give_back_coupons(uow: UnitOfWork, order_number: str) -> list[str]:
    """The coupon uses of a cancelled order, given back (once)."""
    returned = []
    for r in repo.open_redemptions(uow.session, order_number):
        if repo.give_back(uow.session, r.id, r.coupon_code, r.amount, uow.now):
            returned.append(r.coupon_code)
    return returned


# --- uses (the console's coupon and promotion pages)


def search_coupons(
    uow: UnitOfWork, starting: str, promotion: str | None = None, limit: int = 200
) -> list[CouponRead]:
    """Coupons whose code starts with ``starting`` (case-insensitive)."""
    rows = repo.search_coupons(uow.session, starting.strip().upper(), promotion, limit)
    return [_coupon_read(r) for r in rows]


def coupon_redemptions(
    uow: UnitOfWork,
    *,
    coupon: str | None = None,
    promotion: str | None = None,
    limit: int | None = 500,
) -> list[CouponRedemptionRead]:
    """The uses of one coupon, or of all the coupons of a promotion, newest first."""
    rows = repo.list_redemptions(uow.session, coupon.upper() if coupon else None, promotion, limit)
    return [_redemption_read(r) for r in rows]


def redemptions_by_promotion(uow: UnitOfWork) -> dict[str, list[CouponRedemptionRead]]:
    """The uses of every promotion's coupons (as ``coupon_redemptions``), by promotion."""
    found: dict[str, list[CouponRedemptionRead]] = {}
    for r in repo.redemptions_by_promotion(uow.session):
        found.setdefault(r.promotion_code, []).append(_redemption_read(r))
    return found


def _redemption_read(row: Any) -> CouponRedemptionRead:
    return CouponRedemptionRead(
        coupon=row.coupon_code,
        order_number=row.order_number,
        customer_id=row.customer_id,
        amount=row.amount,
        redeemed_at=row.redeemed_at,
        returned_at=row.returned_at,
    )


def condition_variables() -> str:
    """The variables a condition may name, as ``promotion_rules`` documents them (the
    console shows them as help beside the condition)."""
    doc = promotion_rules.__doc__ or ""
    return doc.split("**Effects**")[0].split("The variables:")[-1].strip()
