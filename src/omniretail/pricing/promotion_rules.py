"""Promotions without a database: conditions, effects and stacking (``PromotionsStep``).

**Conditions** are CEL expressions (Google's Common Expression Language, evaluated by
``cel-python``: no ``eval``, no loops, no side effects), true when the promotion applies. An
empty condition is always true. The variables:

- ``channel``, ``currency``, ``country``: strings; ``location``: the store selling ("" online)
- ``tier``: the customer's loyalty tier ("" when unknown); ``segments``: list of strings (the
  context's, else the customer's stored RFM segment, e.g. ``"Champions" in segments``)
- ``customer``: bool, a customer is known; ``first_order``: bool, they have no order yet
- ``lines``: list of ``{sku, category, quantity (int), unit_price, amount (double)}``
- ``total``: double, the sum of the line amounts before promotions; ``units``: int
- ``coupons``: list of the codes applied; ``date``: "YYYY-MM-DD", ``hour`` 0-23 and
  ``weekday`` 1 (Monday) - 7, at the pricing time in UTC

e.g. ``channel == "WEB" && total >= 50.0 && lines.exists(l, l.category == "Shoes")``.
Amounts are doubles: write ``50.0``, not ``50``. An expression that fails (an unknown
variable, a type error) is false for that cart.

**Effects** (JSON, ``type`` first; ``skus`` / ``categories`` narrow the items, none: all):
``percent_off`` {percent}, ``amount_off`` {amount per unit}, ``fixed_price`` {price per unit},
``buy_x_get_y`` {buy, get, percent (100: free, less: at a discount), max_applications?}:
the eligible units make ``units // (buy + get)`` groups (at most ``max_applications``) and
the cheapest ``groups x get`` of all eligible units get the discount ("cheapest free": the
customer pays for the dearest units, the retailer never gives away a dearer unit than one
paid for). ``bundle`` {components: [{skus?, categories?, quantity}], price, pick
("dearest" | "cheapest"), max_applications?}: "any 3 of these for 10" is one component of
quantity 3, "A + B together for X" two of quantity 1; bundles are formed one after another,
each component taking its ``quantity`` units not yet used, the dearest eligible first
(``pick``: "dearest", the customer's best) or the cheapest first, until a component runs
out; a bundle whose units cost no more than ``price`` gives nothing. Each bundle's
discount (its units' amounts - price) is spread over its units in proportion to their
amounts, and the total is shared over the lines in whole minor units.
``order_percent_off`` {percent}, ``order_amount_off`` {amount}, ``tiered`` {tiers:
[{threshold, amount | percent}]} (the highest threshold the total reaches),
``free_delivery`` {methods?} (waives the fee of the chosen method, named after the
promotion, when ``methods`` is absent or lists it; while no method is chosen, a zero-money
note says delivery will be free) and ``points`` {points} (a zero-money adjustment).

**Stacking**: the promotions whose condition holds are taken by priority (highest first),
then code. When the first that changes the cart is exclusive it applies alone; otherwise the
stackable ones apply in that order, each on the line amounts left by the ones before, and
exclusive ones are skipped. A promotion limited to a currency is skipped in another. A
coupon's remaining budget must cover its discount (a waived fee included). Amounts are
rounded half up to the currency's minor unit (none for JPY) where each discount is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from omniretail.kernel import cel
from omniretail.kernel.money import round_money
from omniretail.pricing.engine import (
    Adjustment,
    DraftLine,
    PricingContext,
    StepResult,
    allocate,
)

ZERO = Decimal(0)
HUNDRED = Decimal(100)
FREE_DELIVERY_NOTE = "delivery is free: the fee is waived once the method is chosen"


class ConditionError(ValueError):
    """The condition does not parse as CEL, or is too costly (``kernel.cel``): the message
    follows "the condition is ..."."""


@dataclass(frozen=True, kw_only=True)
class ActivePromotion:
    """A promotion in force, as the step sees it; ``coupon``: the applied code unlocking it."""

    code: str
    name: str
    condition: str | None
    effect: Mapping[str, Any]
    priority: int = 0
    exclusive: bool = False
    currency: str | None = None
    coupon: str | None = None
    budget_left: Decimal | None = None

    @property
    def source(self) -> str:
        return f"coupon:{self.coupon}" if self.coupon else f"promotion:{self.code}"


def compile_condition(text: str) -> Any:
    """The compiled CEL program (cached per text); raises ``ConditionError``."""
    try:
        return cel.compile_program(text)
    except cel.CelSyntaxError as exc:
        raise ConditionError(exc.summary) from exc


def activation(context: PricingContext, lines: Sequence[DraftLine]) -> dict[str, Any]:
    """The documented variables of a condition (module docstring)."""
    return {
        "channel": context.channel,
        "currency": context.currency,
        "country": context.country,
        "location": context.location or "",
        "tier": context.tier or "",
        "segments": sorted(context.segments),
        "customer": context.customer_id is not None,
        "first_order": bool(context.first_order),
        "lines": [
            {
                "sku": ln.sku,
                "category": ln.category or "",
                "quantity": ln.quantity,
                "unit_price": float(ln.unit_price),
                "amount": float(ln.amount),
            }
            for ln in lines
        ],
        "total": float(sum((ln.amount for ln in lines), ZERO)),
        "units": sum(ln.quantity for ln in lines),
        "coupons": list(context.coupons),
        "date": context.at.date().isoformat(),
        "hour": context.at.hour,
        "weekday": context.at.isoweekday(),
    }


def holds(condition: str | None, variables: Mapping[str, Any]) -> bool:
    return cel.holds(condition, variables)


@dataclass
class _Outcome:
    lines: dict[str, Decimal] = field(default_factory=dict)
    order: Decimal = ZERO
    fee: Decimal = ZERO
    points: int = 0
    note: str | None = None

    @property
    def money(self) -> Decimal:
        return sum(self.lines.values(), ZERO) + self.order + self.fee

    @property
    def changes(self) -> bool:
        return self.money != 0 or self.points != 0 or self.note is not None


def _targets(effect: Mapping[str, Any], lines: Sequence[DraftLine]) -> list[DraftLine]:
    return [ln for ln in lines if _eligible(effect, ln)]


def _eligible(items: Mapping[str, Any], line: DraftLine) -> bool:
    skus = items.get("skus")
    categories = items.get("categories")
    return (not skus or line.sku in skus) and (not categories or line.category in categories)


def _outcome(
    effect: Mapping[str, Any],
    lines: Sequence[DraftLine],
    amounts: Mapping[str, Decimal],
    context: PricingContext,
    fee_left: Decimal,
) -> _Outcome:
    currency = context.currency
    kind = effect["type"]
    out = _Outcome()
    targets = _targets(effect, lines)

    def off(key: str, value: Decimal) -> None:
        value = min(round_money(value, currency), amounts[key])
        if value > 0:
            out.lines[key] = -value

    if kind == "percent_off":
        for ln in targets:
            off(ln.key, amounts[ln.key] * Decimal(effect["percent"]) / HUNDRED)
    elif kind == "amount_off":
        for ln in targets:
            off(ln.key, Decimal(effect["amount"]) * ln.quantity)
    elif kind == "fixed_price":
        for ln in targets:
            off(ln.key, amounts[ln.key] - Decimal(effect["price"]) * ln.quantity)
    elif kind == "buy_x_get_y":
        _buy_x_get_y(effect, targets, amounts, off)
    elif kind == "bundle":
        _bundle(effect, targets, amounts, currency, off)
    elif kind in ("order_percent_off", "order_amount_off", "tiered"):
        total = sum((max(amounts[ln.key], ZERO) for ln in lines), ZERO)
        value = _order_value(effect, total)
        out.order = -min(round_money(value, currency), total) if value > 0 else ZERO
    elif kind == "free_delivery":
        methods = effect.get("methods")
        if context.method is None:
            out.note = FREE_DELIVERY_NOTE
        elif not methods or context.method in methods:
            out.fee = -fee_left
    elif kind == "points":
        out.points = int(effect["points"]) if lines else 0
    return out


def _order_value(effect: Mapping[str, Any], total: Decimal) -> Decimal:
    kind = effect["type"]
    if kind == "order_percent_off":
        return total * Decimal(effect["percent"]) / HUNDRED
    if kind == "order_amount_off":
        return Decimal(effect["amount"])
    reached = [t for t in effect["tiers"] if total >= Decimal(t["threshold"])]
    if not reached:
        return ZERO
    tier = max(reached, key=lambda t: Decimal(t["threshold"]))
    if tier.get("percent") is not None:
        return total * Decimal(tier["percent"]) / HUNDRED
    return Decimal(tier["amount"])


def _buy_x_get_y(
    effect: Mapping[str, Any],
    targets: Sequence[DraftLine],
    amounts: Mapping[str, Decimal],
    off: Any,
) -> None:
    """Units priced at what is left of their line, cheapest last in each group of buy + get:
    of the units sorted dearest first, every group's last ``get`` units are discounted."""
    buy, get = int(effect["buy"]), int(effect["get"])
    percent = Decimal(effect.get("percent", 100))
    units = sorted(
        (
            (amounts[ln.key] / ln.quantity, ln.key)
            for ln in targets
            for _ in range(ln.quantity)
            if amounts[ln.key] > 0
        ),
        key=lambda u: (-u[0], u[1]),
    )
    groups = len(units) // (buy + get)
    if effect.get("max_applications") is not None:
        groups = min(groups, int(effect["max_applications"]))
    free = sorted(units, key=lambda u: (u[0], u[1]))[: groups * get]
    per_line: dict[str, Decimal] = {}
    for price, key in free:
        per_line[key] = per_line.get(key, ZERO) + price * percent / HUNDRED
    for key, value in per_line.items():
        off(key, value)


def _bundle(
    effect: Mapping[str, Any],
    targets: Sequence[DraftLine],
    amounts: Mapping[str, Decimal],
    currency: str,
    off: Any,
) -> None:
    """Bundles formed as the module docstring says; the discount shared over the lines."""
    dearest = effect.get("pick", "dearest") != "cheapest"
    price = Decimal(effect["price"])
    limit = effect.get("max_applications")
    left = {ln.key: ln.quantity for ln in targets if amounts[ln.key] > 0}
    unit = {ln.key: amounts[ln.key] / ln.quantity for ln in targets}
    pools = []
    for component in effect["components"]:
        eligible = [ln.key for ln in targets if ln.key in left and _eligible(component, ln)]
        eligible.sort(key=lambda k: (-unit[k] if dearest else unit[k], k))
        pools.append((eligible, int(component["quantity"])))
    weights: dict[str, Decimal] = {}
    formed = 0
    while limit is None or formed < int(limit):
        taken: dict[str, int] = {}
        for eligible, quantity in pools:
            for key in eligible:
                take = min(quantity, left[key] - taken.get(key, 0))
                if take > 0:
                    taken[key] = taken.get(key, 0) + take
                    quantity -= take
                if quantity == 0:
                    break
            if quantity > 0:
                taken = {}
                break
        if not taken:
            break
        for key, count in taken.items():
            left[key] -= count
        formed += 1
        value = sum((unit[k] * n for k, n in taken.items()), ZERO)
        if value > price:
            for key, count in taken.items():
                weights[key] = weights.get(key, ZERO) + (value - price) * unit[key] * count / value
    if not weights:
        return
    keys = sorted(weights)
    total = round_money(sum(weights.values(), ZERO), currency)
    for key, share in zip(keys, allocate(total, [weights[k] for k in keys], currency), strict=True):
        off(key, share)


@dataclass(frozen=True)
class PromotionsStep:
    """The promotions in force for one pricing call (the service loads them, one query)."""

    promotions: Sequence[ActivePromotion] = ()

    def apply(self, context: PricingContext, lines: Sequence[DraftLine]) -> StepResult:
        if not self.promotions or not lines:
            return StepResult()
        variables = activation(context, lines)
        amounts = {ln.key: ln.amount for ln in lines}
        line_adjustments: dict[str, list[Adjustment]] = {}
        order: list[Adjustment] = []
        fee: list[Adjustment] = []
        fee_left = (
            round_money(context.fee.amount, context.currency) if context.fee is not None else ZERO
        )
        applied = False
        for promo in sorted(self.promotions, key=lambda p: (-p.priority, p.code)):
            if promo.currency not in (None, context.currency):
                continue
            if applied and promo.exclusive:
                continue
            if not holds(promo.condition, variables):
                continue
            out = _outcome(promo.effect, lines, amounts, context, fee_left)
            if not out.changes:
                continue
            if promo.budget_left is not None and -out.money > promo.budget_left:
                continue
            applied = True
            for key, amount in out.lines.items():
                amounts[key] += amount
                line_adjustments.setdefault(key, []).append(
                    Adjustment(name=promo.name, amount=amount, source=promo.source)
                )
            if out.order:
                order.append(Adjustment(name=promo.name, amount=out.order, source=promo.source))
                _spread(out.order, lines, amounts)
            if out.fee:
                fee.append(Adjustment(name=promo.name, amount=out.fee, source=promo.source))
                fee_left += out.fee
            if out.points or out.note:
                first = _targets(promo.effect, lines) or list(lines)
                line_adjustments.setdefault(first[0].key, []).append(
                    Adjustment(
                        name=promo.name,
                        amount=ZERO,
                        source=promo.source,
                        points=out.points,
                        note=out.note,
                    )
                )
            if promo.exclusive:
                break
        return StepResult(lines=line_adjustments, order=order, fee=fee)


def _spread(amount: Decimal, lines: Sequence[DraftLine], amounts: dict[str, Decimal]) -> None:
    """Keeps the running line amounts close to what the engine's sharing will give, so a
    later stackable promotion sees the order discount (exact sharing is the engine's)."""
    total = sum((max(amounts[ln.key], ZERO) for ln in lines), ZERO)
    if total <= 0:
        return
    for ln in lines:
        amounts[ln.key] += amount * max(amounts[ln.key], ZERO) / total


def redeemed_amounts(adjustments: Sequence[Adjustment]) -> dict[str, Decimal]:
    """Money off per coupon code (positive) in a priced cart's line adjustments."""
    found: dict[str, Decimal] = {}
    for a in adjustments:
        if a.source.startswith("coupon:"):
            code = a.source.removeprefix("coupon:")
            found[code] = found.get(code, ZERO) - a.amount
    return found
