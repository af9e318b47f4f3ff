"""The pricing engine, without a database: the facts in, a priced cart out.

For each line, in order:

1. The price: of the price-list entries in force for the context (the repository's query
   keeps only lists in the context's currency, active, within their window at ``at``, and
   whose every scope matches), the one of the highest ``priority``, then the most specific
   (most scopes set), then the latest ``valid_from``, then the lowest list code. Without one,
   the SKU's own catalog price when the context's currency is ``CATALOG_CURRENCY``.
2. The adjustments of each ``PricingStep`` (promotions plug in here; none yet): amounts per
   line and per order, each with its name ("why this price"). Order adjustments are shared
   over the lines in proportion to their amounts (largest remainder, in minor units).
3. Rounding and tax: the line's amount (unit price x quantity + adjustments, never below 0)
   is rounded half up to the currency's minor unit; it is the gross when the channel enters
   prices with tax (tax = gross x rate / (1 + rate), rounded half up; net = gross - tax) or
   the net otherwise (tax = net x rate, rounded half up; gross = net + tax). The cart's
   totals are the sums of its lines, so lines always add up to the total.
4. The fee of the fulfilment method, when the context names one and the channel has a fee
   for it (``pricing.fees``): its amount (entered like the channel's prices), less the
   steps' fee adjustments (a ``free_delivery`` promotion waives it), nothing when the
   lines' gross reaches its ``free_over`` threshold (then the threshold is the only reason
   given), never below 0; taxed at its own tax class like a line. The cart's totals are
   the lines' plus the fee's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from omniretail.catalog.schemas import CATALOG_CURRENCY as CATALOG_CURRENCY
from omniretail.kernel.money import quantum, round_money
from omniretail.pricing.errors import NoTaxRate

# A SKU's own price in the catalog (``skus.price``, in ``CATALOG_CURRENCY``) is used when no
# price list has an entry; other currencies need a price list.
CATALOG_SOURCE = "SKU"
CATALOG_SOURCE_NAME = "Catalog price"
ZERO = Decimal(0)


@dataclass(frozen=True, kw_only=True)
class PricingContext:
    """Who buys where and when: what decides which prices and taxes apply."""

    channel: str
    currency: str
    country: str
    prices_include_tax: bool
    at: datetime
    customer_id: int | None = None
    tier: str | None = None
    segments: frozenset[str] = frozenset()
    location: str | None = None
    # Coupon codes the cart applies; ``first_order``: None when unknown (no customer).
    coupons: tuple[str, ...] = ()
    first_order: bool | None = None
    # The fulfilment method chosen (``routing``'s names) and its fee on the channel, if any.
    method: str | None = None
    fee: Fee | None = None


@dataclass(frozen=True, kw_only=True)
class Fee:
    """A delivery or pickup fee (``pricing.fees``): ``amount`` in the channel's terms (with
    tax when it enters prices with tax); none at all when the lines reach ``free_over``."""

    method: str
    name: str
    amount: Decimal
    tax_class: str
    free_over: Decimal | None = None


@dataclass(frozen=True)
class LineRequest:
    key: str
    sku: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A price-list entry in force for the context."""

    list_code: str
    list_name: str
    priority: int
    specificity: int
    valid_from: datetime | None
    price: Decimal


@dataclass(frozen=True, kw_only=True)
class SkuFacts:
    sku: str
    name: str | None
    active: bool
    list_price: Decimal | None
    tax_class: str
    category: str | None = None
    candidates: tuple[Candidate, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Rate:
    country: str
    tax_class: str
    name: str
    rate: Decimal
    valid_from: datetime
    valid_to: datetime | None


@dataclass(frozen=True, kw_only=True)
class Adjustment:
    """A change to an amount with its reason: ``name`` is what the customer reads, ``amount``
    is negative for money off (in the channel's terms: with tax when it enters prices with
    tax), ``source`` names what made it (a promotion, a coupon)."""

    name: str
    amount: Decimal
    source: str = ""
    points: int = 0  # loyalty points a promotion adds (with a zero amount)
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class DraftLine:
    """A line as a pricing step sees it: priced, before adjustments and tax."""

    key: str
    sku: str
    quantity: int
    tax_class: str
    unit_price: Decimal
    amount: Decimal
    category: str | None = None


@dataclass(frozen=True)
class StepResult:
    lines: Mapping[str, Sequence[Adjustment]] = field(default_factory=dict)
    order: Sequence[Adjustment] = ()
    fee: Sequence[Adjustment] = ()  # changes to the context's fee (a waiver: its amount off)


class PricingStep(Protocol):
    """What a promotions round plugs in: adjustments per line (by key) and per order."""

    def apply(self, context: PricingContext, lines: Sequence[DraftLine]) -> StepResult: ...


@dataclass(frozen=True, kw_only=True)
class PricedLine:
    key: str
    sku: str
    name: str | None
    quantity: int
    active: bool
    unit_price: Decimal | None
    price_list: str | None
    price_list_name: str | None
    adjustments: tuple[Adjustment, ...]
    tax_class: str
    tax_name: str | None
    tax_rate: Decimal | None
    net: Decimal | None
    tax: Decimal | None
    gross: Decimal | None

    @property
    def priced(self) -> bool:
        return self.gross is not None


@dataclass(frozen=True, kw_only=True)
class PricedFee:
    """The fee as charged: ``amount`` before its adjustments, net/tax/gross after."""

    method: str
    name: str
    amount: Decimal
    adjustments: tuple[Adjustment, ...]
    tax_class: str
    tax_name: str
    tax_rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True, kw_only=True)
class PricedCart:
    """The priced lines and, when the method is known, the fee; the totals include both."""

    context: PricingContext
    lines: tuple[PricedLine, ...]
    adjustments: tuple[Adjustment, ...]
    net: Decimal
    tax: Decimal
    gross: Decimal
    fee: PricedFee | None = None

    @property
    def unpriced(self) -> list[str]:
        return [ln.sku for ln in self.lines if not ln.priced]

    def line(self, key: str) -> PricedLine:
        return next(ln for ln in self.lines if ln.key == key)


def choose(facts: SkuFacts, context: PricingContext) -> tuple[Decimal, str, str] | None:
    """(unit price, list code, list name) for the SKU, or None when it has no price."""
    if facts.candidates:
        best = min(
            facts.candidates,
            key=lambda c: (
                -c.priority,
                -c.specificity,
                -(c.valid_from.timestamp() if c.valid_from else float("-inf")),
                c.list_code,
            ),
        )
        return best.price, best.list_code, best.list_name
    if facts.list_price is not None and context.currency == CATALOG_CURRENCY:
        return facts.list_price, CATALOG_SOURCE, CATALOG_SOURCE_NAME
    return None


def rate_for(rates: Sequence[Rate], country: str, tax_class: str, at: datetime) -> Rate | None:
    """The rate in force at ``at`` (the latest to start, if windows overlap)."""
    live = [
        r
        for r in rates
        if r.country == country
        and r.tax_class == tax_class
        and r.valid_from <= at
        and (r.valid_to is None or r.valid_to > at)
    ]
    return max(live, key=lambda r: r.valid_from, default=None)


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """``total`` shared in proportion to ``weights`` in whole minor units (largest
    remainder, ties to the earlier share), so the shares add up to ``total`` exactly."""
    unit = quantum(currency)
    units = int((total / unit).to_integral_value())
    whole = sum(weights, ZERO)
    if not weights:
        return []
    if whole == 0:
        return [total if i == 0 else ZERO for i in range(len(weights))]
    exact = [Decimal(units) * w / whole for w in weights]
    floors = [int(e.to_integral_value(rounding="ROUND_FLOOR")) for e in exact]
    left = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(f) * unit for f in floors]


def price_lines(
    context: PricingContext,
    lines: Sequence[LineRequest],
    facts: Mapping[str, SkuFacts],
    rates: Sequence[Rate],
    steps: Sequence[PricingStep] = (),
) -> PricedCart:
    currency = context.currency
    drafts: list[DraftLine] = []
    chosen: dict[str, tuple[Decimal, str, str]] = {}
    for ln in lines:
        sku = facts.get(ln.sku)
        pick = choose(sku, context) if sku is not None else None
        if sku is None or pick is None:
            continue
        unit = round_money(pick[0], currency)
        chosen[ln.key] = (unit, pick[1], pick[2])
        drafts.append(
            DraftLine(
                key=ln.key,
                sku=ln.sku,
                quantity=ln.quantity,
                tax_class=sku.tax_class,
                unit_price=unit,
                amount=unit * ln.quantity,
                category=sku.category,
            )
        )
    own: dict[str, list[Adjustment]] = {d.key: [] for d in drafts}
    order_adjustments: list[Adjustment] = []
    fee_adjustments: list[Adjustment] = []
    for step in steps:
        result = step.apply(context, drafts)
        for key, adjustments in result.lines.items():
            own[key].extend(adjustments)
        order_adjustments.extend(result.order)
        fee_adjustments.extend(result.fee)
    amounts = {d.key: d.amount + sum((a.amount for a in own[d.key]), ZERO) for d in drafts}
    for adjustment in order_adjustments:
        shares = allocate(adjustment.amount, [max(amounts[d.key], ZERO) for d in drafts], currency)
        for d, share in zip(drafts, shares, strict=True):
            if share:
                own[d.key].append(replace(adjustment, amount=share))
                amounts[d.key] += share
    priced = [_line(ln, facts.get(ln.sku), chosen, own, amounts, rates, context) for ln in lines]
    zero = quantum(currency) * 0  # "0.00" for GBP, "0" for JPY
    net = sum((ln.net for ln in priced if ln.net is not None), zero)
    tax = sum((ln.tax for ln in priced if ln.tax is not None), zero)
    gross = sum((ln.gross for ln in priced if ln.gross is not None), zero)
    fee = (
        price_fee(context, context.fee, fee_adjustments, gross, rates)
        if context.fee is not None and drafts
        else None
    )
    return PricedCart(
        context=context,
        lines=tuple(priced),
        adjustments=tuple(order_adjustments),
        net=net + (fee.net if fee else zero),
        tax=tax + (fee.tax if fee else zero),
        gross=gross + (fee.gross if fee else zero),
        fee=fee,
    )


def price_fee(
    context: PricingContext,
    fee: Fee,
    adjustments: Sequence[Adjustment],
    items_gross: Decimal,
    rates: Sequence[Rate],
) -> PricedFee:
    """The fee after its waivers (module docstring, step 4), taxed at its own class."""
    currency = context.currency
    amount = round_money(fee.amount, currency)
    if fee.free_over is not None and amount > 0 and items_gross >= fee.free_over:
        free_over = round_money(fee.free_over, currency)
        adjustments = [
            Adjustment(name=f"{fee.name}: free over {free_over}", amount=-amount, source="fee")
        ]
    left = max(amount + sum((a.amount for a in adjustments), ZERO), ZERO)
    rate = rate_for(rates, context.country, fee.tax_class, context.at)
    if rate is None:
        raise NoTaxRate(
            f"no {fee.tax_class} tax rate in force in {context.country} for the {fee.name}",
            field="fulfilment",
        )
    net, tax, gross = tax_amounts(left, rate.rate, currency, context.prices_include_tax)
    return PricedFee(
        method=fee.method,
        name=fee.name,
        amount=amount,
        adjustments=tuple(adjustments),
        tax_class=fee.tax_class,
        tax_name=rate.name,
        tax_rate=rate.rate,
        net=net,
        tax=tax,
        gross=gross,
    )


def _line(
    ln: LineRequest,
    sku: SkuFacts | None,
    chosen: Mapping[str, tuple[Decimal, str, str]],
    own: Mapping[str, list[Adjustment]],
    amounts: Mapping[str, Decimal],
    rates: Sequence[Rate],
    context: PricingContext,
) -> PricedLine:
    unpriced = PricedLine(
        key=ln.key,
        sku=ln.sku,
        name=sku.name if sku else None,
        quantity=ln.quantity,
        active=sku.active if sku else False,
        unit_price=None,
        price_list=None,
        price_list_name=None,
        adjustments=(),
        tax_class=sku.tax_class if sku else "",
        tax_name=None,
        tax_rate=None,
        net=None,
        tax=None,
        gross=None,
    )
    if ln.key not in chosen:
        return unpriced
    unit, list_code, list_name = chosen[ln.key]
    rate = rate_for(rates, context.country, unpriced.tax_class, context.at)
    if rate is None:
        raise NoTaxRate(
            f"no {unpriced.tax_class} tax rate in force in {context.country} for {ln.sku}",
            field="lines",
        )
    net, tax, gross = tax_amounts(
        max(amounts[ln.key], ZERO), rate.rate, context.currency, context.prices_include_tax
    )
    return replace(
        unpriced,
        unit_price=unit,
        price_list=list_code,
        price_list_name=list_name,
        adjustments=tuple(own[ln.key]),
        tax_name=rate.name,
        tax_rate=rate.rate,
        net=net,
        tax=tax,
        gross=gross,
    )


def tax_amounts(
    amount: Decimal, rate: Decimal, currency: str, includes_tax: bool
) -> tuple[Decimal, Decimal, Decimal]:
    """(net, tax, gross) of a line amount entered with or without tax (module docstring)."""
    entered = round_money(amount, currency)
    if includes_tax:
        tax = round_money(entered * rate / (1 + rate), currency)
        return entered - tax, tax, entered
    tax = round_money(entered * rate, currency)
    return entered, tax, entered + tax


def split(line: PricedLine, quantities: Sequence[int], currency: str) -> list[dict[str, Decimal]]:
    """A line's net, tax and gross shared over parts of its quantity (an order line per
    fulfilment, a partial return), in proportion to the quantities, adding up exactly."""
    if line.gross is None or line.tax is None:
        raise ValueError(f"{line.sku} has no price")
    weights = [Decimal(q) for q in quantities]
    grosses = allocate(line.gross, weights, currency)
    taxes = allocate(line.tax, weights, currency)
    return [{"net": g - t, "tax": t, "gross": g} for g, t in zip(grosses, taxes, strict=True)]
