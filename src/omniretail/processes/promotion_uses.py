"""Uses and revenue of a promotion and of its coupons (the console's promotion page).

A promotion prices an order directly (adjustments with source ``promotion:<code>``, read from
the orders' line breakdowns) or through one of its coupons (``coupon_redemptions``: the order,
the money off). Cancelled orders and uses a cancellation gave back are not counted. Amounts
are per currency: a promotion may apply on channels selling in different ones."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from omniretail.db.uow import UnitOfWork
from omniretail.kernel.money import round_money
from omniretail.orders import service as orders
from omniretail.orders.service import AdjustedOrder, OrderStatus
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import CouponRedemptionRead, PromotionRead

ZERO = Decimal(0)


@dataclass(frozen=True)
class UsesTotal:
    """Orders priced by it, the money it took off them and what they came to, in a currency."""

    currency: str
    orders: int
    discount: Decimal
    revenue: Decimal


@dataclass(frozen=True)
class CouponUses:
    code: str
    totals: list[UsesTotal]


@dataclass(frozen=True)
class PromotionUses:
    code: str
    totals: list[UsesTotal]  # the promotion's, directly and through its coupons
    coupons: list[CouponUses]  # each coupon that was used
    orders: list[AdjustedOrder]  # newest first, each with the money the promotion took off


def promotion_uses(uow: UnitOfWork, code: str, recent: int = 20) -> PromotionUses:
    promotion = pricing.get_promotion(uow, code)
    direct = orders.orders_adjusted_by(uow, f"promotion:{code}", since=promotion.created_at)
    used = [
        r for r in pricing.coupon_redemptions(uow, promotion=code, limit=None) if not r.returned_at
    ]
    placed = {o.number: o for o in orders.orders_by_numbers(uow, [r.order_number for r in used])}
    everything, per_coupon = _combined(direct, used, placed)
    return PromotionUses(
        code=code,
        totals=totals(everything),
        coupons=[CouponUses(c, totals(per_coupon[c])) for c in sorted(per_coupon)],
        orders=[o for o in everything if o.status != OrderStatus.CANCELLED.value][:recent],
    )


def uses_of_promotions(
    uow: UnitOfWork, promotions: list[PromotionRead]
) -> dict[str, list[UsesTotal]]:
    """``promotion_uses(...).totals`` of each promotion listed, in three reads whatever
    their number (the promotions list's columns)."""
    if not promotions:
        return {}
    since = min(p.created_at for p in promotions)
    direct = orders.orders_adjusted_by_each(uow, "promotion:", since=since)
    redeemed = pricing.redemptions_by_promotion(uow)
    used = {p.code: [r for r in redeemed.get(p.code, []) if not r.returned_at] for p in promotions}
    numbers = sorted({r.order_number for rs in used.values() for r in rs})
    placed = {o.number: o for o in orders.orders_by_numbers(uow, numbers)}
    found = {}
    for p in promotions:
        own = [o for o in direct.get(f"promotion:{p.code}", []) if o.placed_at >= p.created_at]
        found[p.code] = totals(_combined(own, used[p.code], placed)[0])
    return found


def _combined(
    direct: list[AdjustedOrder],
    used: list[CouponRedemptionRead],
    placed: dict[str, AdjustedOrder],
) -> tuple[list[AdjustedOrder], dict[str, list[AdjustedOrder]]]:
    """The orders priced directly or through a coupon (newest first, each with the money off
    both ways), and each coupon's orders."""
    per_coupon: dict[str, list[AdjustedOrder]] = defaultdict(list)
    combined: dict[str, AdjustedOrder] = {o.number: o for o in direct}
    for r in used:
        order = placed.get(r.order_number)
        if order is None:
            continue
        per_coupon[r.coupon].append(_with_discount(order, r.amount))
        before = combined.get(order.number)
        combined[order.number] = _with_discount(
            order, r.amount + (before.discount if before else ZERO)
        )
    everything = sorted(combined.values(), key=lambda o: (o.placed_at, o.number), reverse=True)
    return everything, per_coupon


def coupon_uses(uow: UnitOfWork, code: str) -> list[UsesTotal]:
    used = [
        r for r in pricing.coupon_redemptions(uow, coupon=code, limit=None) if not r.returned_at
    ]
    amounts = {r.order_number: r.amount for r in used}
    return totals(
        [_with_discount(o, amounts[o.number]) for o in orders.orders_by_numbers(uow, list(amounts))]
    )


def totals(found: list[AdjustedOrder]) -> list[UsesTotal]:
    """Per currency, over the orders not cancelled."""
    by: dict[str, list[AdjustedOrder]] = defaultdict(list)
    for o in found:
        if o.status != OrderStatus.CANCELLED.value:
            by[o.currency].append(o)
    return [
        UsesTotal(
            currency=currency,
            orders=len(group),
            discount=round_money(sum((o.discount for o in group), ZERO), currency),
            revenue=round_money(sum((o.total for o in group), ZERO), currency),
        )
        for currency, group in sorted(by.items())
    ]


def _with_discount(order: AdjustedOrder, discount: Decimal) -> AdjustedOrder:
    return AdjustedOrder(
        number=order.number,
        currency=order.currency,
        total=order.total,
        status=order.status,
        placed_at=order.placed_at,
        discount=discount,
    )
