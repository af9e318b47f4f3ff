"""Re-pricing what an order kept: the items left after a return, priced by the same engine
with what the order was sold with, so a return that breaks a promotion's condition (buy X get
Y, a spend threshold) shows what the kept items would have cost.

What is the same as at the sale: each line's recorded unit price (its price-list entry), tax
class, tax name and rate (``pricing.service.breakdown`` keeps them on the order line), the
pricing time (``context.at``: when the order was placed) and the promotions the order's lines
record as their adjustments' sources (``promotion:<code>``, ``coupon:<code>``), whether or not
they are still in force; a coupon's use and budget are not checked again (it was redeemed).
No other promotion joins. The customer's facts are those of the sale where known (a first
order: no earlier order) and their tier now otherwise (as the engine reads it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.pricing import promotion_repository as promos
from omniretail.pricing import repository as repo
from omniretail.pricing.engine import (
    Candidate,
    LineRequest,
    PricedCart,
    PricingContext,
    Rate,
    SkuFacts,
    price_lines,
)
from omniretail.pricing.engine import allocate as allocate
from omniretail.pricing.promotion_rules import ActivePromotion, PromotionsStep

RECORDED_LIST = "ORDER"


@dataclass(frozen=True, kw_only=True)
class RecordedLine:
    """A kept part of an order line, with what its breakdown recorded."""

    key: str
    sku: str
    quantity: int
    unit_price: Decimal
    tax_class: str
    tax_name: str
    tax_rate: Decimal
    price_list: str | None = None
    price_list_name: str | None = None


def sources_of(breakdowns: Iterable[dict[str, Any] | None]) -> list[str]:
    """The promotion and coupon sources named by order lines' recorded adjustments."""
    found: set[str] = set()
    for b in breakdowns:
        for a in (b or {}).get("adjustments") or []:
            source = str(a.get("source") or "")
            if source.startswith(("promotion:", "coupon:")):
                found.add(source)
    return sorted(found)


def price_recorded(
    uow: UnitOfWork,
    context: PricingContext,
    lines: Sequence[RecordedLine],
    sources: Sequence[str],
) -> PricedCart:
    """``lines`` priced for ``context`` (the sale's) with the recorded promotions only (module
    docstring). Lines of one SKU must share a unit price (the caller merges them)."""
    coupons = tuple(sorted(s.removeprefix("coupon:") for s in sources if s.startswith("coupon:")))
    context = replace(context, coupons=coupons)
    if context.customer_id is not None and context.tier is None:
        context = replace(context, tier=repo.customer_tier(uow.session, context.customer_id))
    step = PromotionsStep(tuple(_promotions(uow, sources)))
    now = repo.sku_facts(uow.session, [ln.sku for ln in lines], context) if lines else {}
    facts = {
        ln.sku: SkuFacts(
            sku=ln.sku,
            name=now[ln.sku].name if ln.sku in now else ln.sku,
            active=True,
            list_price=None,
            tax_class=ln.tax_class,
            category=now[ln.sku].category if ln.sku in now else None,
            candidates=(
                Candidate(
                    list_code=ln.price_list or RECORDED_LIST,
                    list_name=ln.price_list_name or "Price paid",
                    priority=0,
                    specificity=0,
                    valid_from=None,
                    price=ln.unit_price,
                ),
            ),
        )
        for ln in lines
    }
    rates = [
        Rate(
            country=context.country,
            tax_class=ln.tax_class,
            name=ln.tax_name,
            rate=ln.tax_rate,
            valid_from=context.at,
            valid_to=None,
        )
        for ln in lines
    ]
    requests = [LineRequest(ln.key, ln.sku, ln.quantity) for ln in lines]
    return price_lines(context, requests, facts, rates, [step] if lines else [])


def _promotions(uow: UnitOfWork, sources: Sequence[str]) -> list[ActivePromotion]:
    found: list[ActivePromotion] = []
    for source in sources:
        kind, _, code = source.partition(":")
        coupon: str | None = None
        if kind == "coupon":
            row = promos.get_coupon(uow.session, code)
            if row is None:
                continue
            coupon, code = code, row.promotion_code
        promotion = promos.get_promotion(uow.session, code)
        if promotion is None:
            continue
        found.append(
            ActivePromotion(
                code=promotion.code,
                name=promotion.name,
                condition=promotion.condition,
                effect=promotion.effect,
                priority=promotion.priority,
                exclusive=promotion.exclusive,
                currency=promotion.currency,
                coupon=coupon,
            )
        )
    return found
