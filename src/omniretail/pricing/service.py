"""Pricing use cases: ``price_cart`` (the one engine every channel's cart, the till, checkout
and the quote API go through), price lists and their entries, tax classes and rates.
Services never commit; the caller's unit of work does."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownProduct, UnknownSku
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.money import fits_currency, quantum, round_money
from omniretail.pricing import fees, promotions, repricing
from omniretail.pricing import repository as repo
from omniretail.pricing.engine import (
    CATALOG_CURRENCY as CATALOG_CURRENCY,
)
from omniretail.pricing.engine import (
    CATALOG_SOURCE as CATALOG_SOURCE,
)
from omniretail.pricing.engine import (
    Adjustment as Adjustment,
)
from omniretail.pricing.engine import (
    DraftLine as DraftLine,
)
from omniretail.pricing.engine import (
    LineRequest as LineRequest,
)
from omniretail.pricing.engine import (
    PricedCart as PricedCart,
)
from omniretail.pricing.engine import (
    PricedFee as PricedFee,
)
from omniretail.pricing.engine import (
    PricedLine as PricedLine,
)
from omniretail.pricing.engine import (
    PricingContext as PricingContext,
)
from omniretail.pricing.engine import (
    PricingStep as PricingStep,
)
from omniretail.pricing.engine import (
    Rate,
    choose,
    price_lines,
)
from omniretail.pricing.engine import (
    StepResult as StepResult,
)
from omniretail.pricing.engine import (
    split as split,
)
from omniretail.pricing.errors import (
    AmountTooPrecise,
    NoPrice,
    PriceListInUse,
    UnknownPriceEntry,
    UnknownPriceList,
    UnknownTaxClass,
    UnknownTaxRate,
)
from omniretail.pricing.events import (
    PriceEntryRemoved,
    PriceEntrySaved,
    PriceListDeleted,
    PriceListSaved,
    TaxSettingChanged,
)
from omniretail.pricing.models import CHANNEL_LIST_PREFIX
from omniretail.pricing.promotion_repository import ReadStamp, only_stamp
from omniretail.pricing.schemas import (
    AdjustmentRead,
    PricedLineRead,
    PriceEntryRead,
    PriceEntryWrite,
    PriceListRead,
    PriceListWrite,
    ProductTaxClassRead,
    ProductTaxClassWrite,
    QuoteRead,
    QuoteRequest,
    TaxClassRead,
    TaxClassWrite,
    TaxRateRead,
    TaxRateWrite,
)

# The steps every cart is priced with, in order: each loader reads what its step needs for
# the call (and may complete the context) and returns the step.
StepLoader = Callable[
    [UnitOfWork, PricingContext, ReadStamp | None], tuple[PricingContext, PricingStep]
]
STEPS: tuple[StepLoader, ...] = (promotions.load_step,)


def context_for(
    uow: UnitOfWork,
    channel: str,
    *,
    customer_id: int | None = None,
    tier: str | None = None,
    segments: Iterable[str] = (),
    location: str | None = None,
    country: str | None = None,
    at: datetime | None = None,
    coupons: Sequence[str] = (),
    method: str | None = None,
) -> PricingContext:
    """The context of a sale on ``channel`` (its currency, tax country and tax entry mode);
    ``method``: the fulfilment method chosen, whose fee the cart is priced with."""
    settings = catalog.channel_settings(uow, channel)
    return PricingContext(
        channel=channel,
        currency=settings.currency,
        country=country or settings.country,
        prices_include_tax=settings.prices_include_tax,
        at=at or uow.now,
        customer_id=customer_id,
        tier=tier,
        segments=frozenset(segments),
        location=location,
        coupons=tuple(coupons),
        method=method,
    )


def price_cart(
    uow: UnitOfWork, context: PricingContext, lines: Sequence[LineRequest]
) -> PricedCart:
    """Every line priced for the context: the price list entry used, the adjustments, net,
    tax and gross (``pricing.engine`` says how). Two reads: the SKUs with the entries in force
    (one statement) and the country's tax rates (cached a few seconds); with a method, the
    channel's fees (cached the same way). An anonymous cart without coupons
    reads the promotions stamp with the SKUs."""
    skus = [ln.sku for ln in lines]
    stamp: ReadStamp | None = None
    if lines and only_stamp(context):
        facts, stamp = repo.sku_facts_stamped(uow.session, skus, context)
    else:
        facts = repo.sku_facts(uow.session, skus, context) if lines else {}
    steps: list[PricingStep] = []
    if lines and context.method is not None and context.fee is None:
        context = replace(context, fee=fees.fee_for(uow, context.channel, context.method))
    if lines:
        for load in STEPS:
            context, step = load(uow, context, stamp)
            steps.append(step)
    return price_lines(context, lines, facts, _rates(uow, context.country), steps)


def require_priced(priced: PricedCart) -> None:
    """Raises ``NoPrice`` naming the lines without a price or no longer sold."""
    unpriced = [ln.sku for ln in priced.lines if not ln.priced or not ln.active]
    if unpriced:
        raise NoPrice(
            f"no price (or no longer sold) on this channel: {', '.join(unpriced)}",
            field="lines",
            skus=unpriced,
        )


def quote(uow: UnitOfWork, data: QuoteRequest) -> QuoteRead:
    if data.location is not None:
        catalog.require_location(uow, data.location)
    context = context_for(
        uow,
        data.channel,
        customer_id=data.customer_id,
        tier=data.customer_tier,
        segments=data.customer_segments,
        location=data.location,
        country=data.country,
        at=data.at,
        coupons=data.coupons,
        method=data.method,
    )
    lines = [LineRequest(str(i), ln.sku, ln.quantity) for i, ln in enumerate(data.lines)]
    priced = price_cart(uow, context, lines)
    unknown = [ln.sku for ln in priced.lines if ln.name is None and not ln.active]
    if unknown:
        raise UnknownSku(f"no SKU with code {unknown[0]!r}", field="lines")
    return quote_read(priced)


def quote_read(priced: PricedCart) -> QuoteRead:
    ctx = priced.context
    return QuoteRead(
        channel=ctx.channel,
        currency=ctx.currency,
        country=ctx.country,
        prices_include_tax=ctx.prices_include_tax,
        at=ctx.at,
        lines=[line_read(ln) for ln in priced.lines],
        adjustments=[_adjustment(a) for a in priced.adjustments],
        fee=fees.fee_read(priced.fee) if priced.fee else None,
        net=priced.net,
        tax=priced.tax,
        gross=priced.gross,
    )


def line_read(line: PricedLine) -> PricedLineRead:
    return PricedLineRead(
        sku=line.sku,
        name=line.name,
        quantity=line.quantity,
        unit_price=line.unit_price,
        price_list=line.price_list,
        price_list_name=line.price_list_name,
        adjustments=[_adjustment(a) for a in line.adjustments],
        tax_class=line.tax_class,
        tax_name=line.tax_name,
        tax_rate=line.tax_rate,
        net=line.net,
        tax=line.tax,
        gross=line.gross,
    )


def breakdown(line: PricedLine, parts: dict[str, Decimal], currency: str) -> dict[str, Any]:
    """What an order line keeps of its pricing (JSON): where the price came from, the
    adjustments, the tax and the amounts of this part of the cart line."""
    return {
        "currency": currency,
        "price_list": line.price_list,
        "price_list_name": line.price_list_name,
        "adjustments": [
            {
                "name": a.name,
                "amount": str(a.amount),
                "source": a.source,
                **({"points": a.points} if a.points else {}),
                **({"note": a.note} if a.note else {}),
            }
            for a in line.adjustments
        ],
        "tax_class": line.tax_class,
        "tax_name": line.tax_name,
        "tax_rate": str(line.tax_rate),
        **{k: str(v) for k, v in parts.items()},
    }


def _adjustment(a: Adjustment) -> AdjustmentRead:
    return AdjustmentRead(
        name=a.name, amount=a.amount, source=a.source, points=a.points, note=a.note
    )


def _rates(uow: UnitOfWork, country: str) -> list[Rate]:
    key = f"tax-rates:{country}"
    cached = uow.cache.get(key)
    if isinstance(cached, list):
        return cached
    rates = repo.rates_of_country(uow.session, country)
    uow.cache.put(key, rates)
    return rates


# --- price lists


def save_price_list(
    uow: UnitOfWork, code: str, data: PriceListWrite, *, actor: str
) -> PriceListRead:
    if data.channel is not None:
        catalog.channel_settings(uow, data.channel)
    if data.location is not None:
        catalog.require_location(uow, data.location)
    values = {
        "name": data.name,
        "currency": data.currency,
        "priority": data.priority,
        "channel_code": data.channel,
        "location_code": data.location,
        "customer_tier": data.customer_tier,
        "customer_segment": data.customer_segment,
        "valid_from": data.valid_from,
        "valid_to": data.valid_to,
        "active": data.active,
        "updated_at": uow.now,
    }
    existing = repo.get_list(uow.session, code)
    if existing is None:
        repo.insert_list(uow.session, {"code": code, "created_at": uow.now, **values})
    else:
        if existing.currency != data.currency and repo.count_entries(uow.session, code):
            raise PriceListInUse(
                "a list's currency cannot change while it has entries", field="currency"
            )
        repo.update_list(uow.session, code, values)
    uow.record(
        PriceListSaved(
            code=code,
            currency=data.currency,
            priority=data.priority,
            channel=data.channel,
            valid_from=data.valid_from.isoformat() if data.valid_from else None,
            valid_to=data.valid_to.isoformat() if data.valid_to else None,
            active=data.active,
            actor=actor,
        )
    )
    return get_price_list(uow, code)


def get_price_list(uow: UnitOfWork, code: str) -> PriceListRead:
    row = repo.get_list(uow.session, code)
    if row is None:
        raise UnknownPriceList(f"no price list with code {code!r}", field="code")
    return _list_read(row, repo.count_entries(uow.session, code))


def list_price_lists(
    uow: UnitOfWork, channel: str | None = None, at: datetime | None = None, limit: int = 200
) -> list[PriceListRead]:
    return [
        _list_read(r, repo.count_entries(uow.session, r.code))
        for r in repo.list_lists(uow.session, channel, at, limit)
    ]


def delete_price_list(uow: UnitOfWork, code: str, *, actor: str) -> None:
    if not repo.delete_list(uow.session, code):
        raise UnknownPriceList(f"no price list with code {code!r}", field="code")
    uow.record(PriceListDeleted(code=code, actor=actor))


def set_entry(
    uow: UnitOfWork, code: str, sku: str, data: PriceEntryWrite, *, actor: str
) -> PriceEntryRead:
    price_list = repo.get_list(uow.session, code)
    if price_list is None:
        raise UnknownPriceList(f"no price list with code {code!r}", field="code")
    catalog.require_sku(uow, sku)
    _require_fits(data.price, price_list.currency)
    repo.upsert_entry(uow.session, code, sku, data.price, uow.now)
    uow.record(PriceEntrySaved(price_list=code, sku=sku, price=str(data.price), actor=actor))
    return PriceEntryRead(
        price_list=code,
        sku=sku,
        price=round_money(data.price, price_list.currency),
        updated_at=uow.now,
    )


def remove_entry(uow: UnitOfWork, code: str, sku: str, *, actor: str) -> None:
    if not repo.delete_entry(uow.session, code, sku):
        raise UnknownPriceEntry(f"no entry for {sku} in price list {code}", field="sku")
    uow.record(PriceEntryRemoved(price_list=code, sku=sku, actor=actor))


def list_entries(uow: UnitOfWork, code: str, sku: str | None = None) -> list[PriceEntryRead]:
    get_price_list(uow, code)
    return [_entry_read(r) for r in repo.list_entries(uow.session, [code], sku)]


def _require_fits(price: Decimal, currency: str) -> None:
    if not fits_currency(price, currency):
        raise AmountTooPrecise(
            f"{price} is finer than {currency} allows (steps of {quantum(currency)})",
            field="price",
        )


def _list_read(row: Any, entries: int) -> PriceListRead:
    return PriceListRead(
        code=row.code,
        name=row.name,
        currency=row.currency,
        priority=row.priority,
        channel=row.channel_code,
        location=row.location_code,
        customer_tier=row.customer_tier,
        customer_segment=row.customer_segment,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        active=row.active,
        entries=entries,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _entry_read(row: Any) -> PriceEntryRead:
    return PriceEntryRead(
        price_list=row.list_code,
        sku=row.sku_code,
        price=round_money(row.price, row.currency),
        updated_at=row.updated_at,
    )


# --- each channel's own list (``/prices/{sku}/{channel}``)


def channel_list_code(channel: str) -> str:
    return CHANNEL_LIST_PREFIX + channel


def set_channel_price(
    uow: UnitOfWork, channel: str, sku: str, price: Decimal, *, actor: str
) -> PriceEntryRead:
    """The SKU's price in the channel's own list (made on first use, in the channel's
    currency, priority 0, scoped to the channel)."""
    settings = catalog.channel_settings(uow, channel)
    catalog.require_sku(uow, sku)
    code = channel_list_code(channel)
    price_list = repo.get_list(uow.session, code)
    if price_list is None:
        repo.insert_list(
            uow.session,
            {
                "code": code,
                "name": f"{channel} prices",
                "currency": settings.currency,
                "priority": 0,
                "channel_code": channel,
                "active": True,
                "created_at": uow.now,
                "updated_at": uow.now,
            },
        )
        currency = settings.currency
    else:
        currency = price_list.currency
    _require_fits(price, currency)
    repo.upsert_entry(uow.session, code, sku, price, uow.now)
    return PriceEntryRead(
        price_list=code, sku=sku, price=round_money(price, currency), updated_at=uow.now
    )


def remove_channel_price(uow: UnitOfWork, channel: str, sku: str) -> bool:
    return repo.delete_entry(uow.session, channel_list_code(channel), sku)


def channel_prices(
    uow: UnitOfWork, sku: str | None, channel: str | None
) -> list[tuple[str, str, Decimal, datetime]]:
    """(sku, channel, price, updated_at) of the channels' own lists."""
    rows = repo.list_entries(
        uow.session,
        [channel_list_code(channel)] if channel else None,
        sku,
        list_prefix=CHANNEL_LIST_PREFIX,
    )
    return [
        (r.sku_code, r.channel_code, round_money(r.price, r.currency), r.updated_at) for r in rows
    ]


def shelf_prices(
    uow: UnitOfWork, channel: str, skus: Sequence[str], *, customer_id: int | None = None
) -> tuple[str, dict[str, Decimal | None]]:
    """(the channel's currency, each SKU's unit price there before promotions): the price
    list entry in force, or the catalog price when the channel sells in ``CATALOG_CURRENCY``;
    None when the SKU has no price in the channel's currency."""
    context = context_for(uow, channel, customer_id=customer_id)
    facts = repo.sku_facts(uow.session, list(skus), context) if skus else {}
    prices: dict[str, Decimal | None] = {}
    for sku in skus:
        pick = choose(facts[sku], context) if sku in facts else None
        prices[sku] = round_money(pick[0], context.currency) if pick else None
    return context.currency, prices


# --- taxes


def save_tax_class(uow: UnitOfWork, code: str, data: TaxClassWrite, *, actor: str) -> TaxClassRead:
    repo.upsert_tax_class(uow.session, code, data.name)
    uow.record(TaxSettingChanged(what="tax_class", key=code, change="saved", actor=actor))
    return TaxClassRead(code=code, name=data.name)


def list_tax_classes(uow: UnitOfWork) -> list[TaxClassRead]:
    return [TaxClassRead(code=r.code, name=r.name) for r in repo.list_tax_classes(uow.session)]


def _require_tax_class(uow: UnitOfWork, code: str, field: str = "tax_class") -> None:
    if repo.get_tax_class(uow.session, code) is None:
        raise UnknownTaxClass(f"no tax class {code!r}", field=field)


def add_tax_rate(uow: UnitOfWork, data: TaxRateWrite, *, actor: str) -> TaxRateRead:
    _require_tax_class(uow, data.tax_class)
    rate_id = repo.insert_rate(uow.session, data.model_dump())
    uow.cache.invalidate()
    uow.record(TaxSettingChanged(what="tax_rate", key=str(rate_id), change="added", actor=actor))
    return get_tax_rate(uow, rate_id)


def update_tax_rate(
    uow: UnitOfWork, rate_id: int, data: TaxRateWrite, *, actor: str
) -> TaxRateRead:
    get_tax_rate(uow, rate_id)
    _require_tax_class(uow, data.tax_class)
    repo.update_rate(uow.session, rate_id, data.model_dump())
    uow.cache.invalidate()
    uow.record(TaxSettingChanged(what="tax_rate", key=str(rate_id), change="changed", actor=actor))
    return get_tax_rate(uow, rate_id)


def delete_tax_rate(uow: UnitOfWork, rate_id: int, *, actor: str) -> None:
    if not repo.delete_rate(uow.session, rate_id):
        raise UnknownTaxRate(f"no tax rate with id {rate_id}", field="rate_id")
    uow.cache.invalidate()
    uow.record(TaxSettingChanged(what="tax_rate", key=str(rate_id), change="deleted", actor=actor))


def get_tax_rate(uow: UnitOfWork, rate_id: int) -> TaxRateRead:
    row = repo.get_rate(uow.session, rate_id)
    if row is None:
        raise UnknownTaxRate(f"no tax rate with id {rate_id}", field="rate_id")
    return _rate_read(row)


def list_tax_rates(uow: UnitOfWork, country: str | None = None) -> list[TaxRateRead]:
    return [_rate_read(r) for r in repo.list_rates(uow.session, country)]


def _rate_read(row: Any) -> TaxRateRead:
    return TaxRateRead(
        id=row.id,
        country=row.country,
        tax_class=row.tax_class,
        name=row.name,
        rate=row.rate,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


def set_product_tax_class(
    uow: UnitOfWork, product: str, data: ProductTaxClassWrite, *, actor: str
) -> ProductTaxClassRead:
    if not repo.product_exists(uow.session, product):
        raise UnknownProduct(f"no product with code {product!r}", field="product")
    _require_tax_class(uow, data.tax_class)
    repo.set_product_tax_class(uow.session, product, data.tax_class)
    uow.record(
        TaxSettingChanged(what="product_tax_class", key=product, change="saved", actor=actor)
    )
    return ProductTaxClassRead(product=product, tax_class=data.tax_class)


def get_product_tax_class(uow: UnitOfWork, product: str) -> ProductTaxClassRead:
    if not repo.product_exists(uow.session, product):
        raise UnknownProduct(f"no product with code {product!r}", field="product")
    return ProductTaxClassRead(
        product=product, tax_class=repo.product_tax_class(uow.session, product)
    )


# --- promotions and coupons (``pricing.promotions``)

MAX_COUPONS = promotions.MAX_COUPONS
save_promotion = promotions.save_promotion
get_promotion = promotions.get_promotion
list_promotions = promotions.list_promotions
delete_promotion = promotions.delete_promotion
set_promotion_active = promotions.set_promotion_active
create_coupon = promotions.create_coupon
generate_coupons = promotions.generate_coupons
get_coupon = promotions.get_coupon
list_coupons = promotions.list_coupons
set_coupon_active = promotions.set_coupon_active
delete_coupon = promotions.delete_coupon
coupons_csv = promotions.coupons_csv
require_usable_coupon = promotions.require_usable_coupon
redeem_coupons = promotions.redeem_coupons
give_back_coupons = promotions.give_back_coupons


# --- delivery and pickup fees (``pricing.fees``)

save_fee = fees.save_fee
get_fee = fees.get_fee
list_fees = fees.list_fees
delete_fee = fees.delete_fee
fee_read = fees.fee_read
fee_breakdown = fees.fee_breakdown
# --- re-pricing what an order kept (``pricing.repricing``)

RecordedLine = repricing.RecordedLine
price_recorded = repricing.price_recorded
recorded_sources = repricing.sources_of
allocate = repricing.allocate
search_coupons = promotions.search_coupons
coupon_redemptions = promotions.coupon_redemptions
redemptions_by_promotion = promotions.redemptions_by_promotion
condition_variables = promotions.condition_variables
