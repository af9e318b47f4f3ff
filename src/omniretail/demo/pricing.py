"""The demo's offers, so that the shop's basket, the till and HQ's pricing pages show the
pricing engine at work: a stackable "Spend £50, save £5", "Buy 3 pay 2" on the best sellers of
the imported history, the shared coupon ``WELCOME10`` (10 % off, for a few months), the
loyalty programme's welcome and birthday coupons unlocking promotions, and a home-delivery
fee on the web channel (free over £40; none at the tills).

Everything goes through the pricing and loyalty services, as HQ would enter it. Idempotent:
what exists (a promotion, the coupon, the fee) is left as it is, even if HQ changed it since,
and the programme gets a new version only when its coupon rules are not the demo's and it was
never saved by anyone but the demo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from omniretail.carts import service as carts
from omniretail.carts.errors import UnknownCart
from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.demo.network import DC
from omniretail.demo.people import CUSTOMER_EMAIL
from omniretail.history import service as history
from omniretail.inventory import service as inventory
from omniretail.kernel.money import format_money
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import CouponRule
from omniretail.orders import service as orders
from omniretail.pricing import service as pricing
from omniretail.pricing.errors import UnknownCoupon, UnknownFee, UnknownPromotion
from omniretail.pricing.schemas import (
    BuyXGetY,
    CouponWrite,
    FeeWrite,
    OrderAmountOff,
    OrderPercentOff,
    PromotionWrite,
    QuoteLine,
    QuoteRead,
    QuoteRequest,
)

CHANNEL = "WEB"
HOME_DELIVERY = "ship_to_home"
SPEND = "DEMO-SPEND50"
THREE_FOR_TWO = "DEMO-3FOR2"
THREE_FOR_TWO_NAME = "Buy 3 pay 2"
WELCOME = "DEMO-WELCOME10"
BIRTHDAY = "DEMO-BIRTHDAY15"
COUPON = "WELCOME10"
WELCOME_PERCENT = 10
FREE_OVER = Decimal("40.00")  # home delivery is free from this basket
COUPON_DAYS = 90
COUPON_MAX_USES = 1000
BEST_SELLERS = 3  # SKUs on "Buy 3 pay 2"
DEMAND_WEEKS = 12  # as the opening stock reads the history
TOUR_UNITS = 3
MIN_FREE = 3 * TOUR_UNITS  # DC units free for a SKU on "Buy 3 pay 2"


@dataclass(frozen=True)
class DemoOffers:
    created: list[str] = field(default_factory=list)  # what this run added, in words
    skus: list[str] = field(default_factory=list)  # on "Buy 3 pay 2"


def seed_offers(uow: UnitOfWork, *, actor: str, customer_id: int | None = None) -> DemoOffers:
    """Adds what is missing of the demo's offers; the SKUs on "Buy 3 pay 2" (best sellers
    not in ``customer_id``'s open cart or orders, so that the tour's basket shows the offer on
    the line of the SKU it adds: "Buy 3 pay 2" mixes its SKUs and gives the cheapest units)."""
    currency = catalog.channel_settings(uow, CHANNEL).currency
    created: list[str] = []
    promotions = {
        SPEND: PromotionWrite(
            name="Spend £50, save £5",
            condition="total >= 50.0",
            effect=OrderAmountOff(type="order_amount_off", amount=Decimal("5.00")),
            currency=currency,
        ),
        WELCOME: PromotionWrite(
            name="Welcome: 10 % off",
            effect=OrderPercentOff(type="order_percent_off", percent=Decimal(WELCOME_PERCENT)),
            priority=10,
            requires_coupon=True,
        ),
        BIRTHDAY: PromotionWrite(
            name="Happy birthday: 15 % off",
            effect=OrderPercentOff(type="order_percent_off", percent=Decimal(15)),
            priority=10,
            requires_coupon=True,
        ),
    }
    for code, data in promotions.items():
        if _missing_promotion(uow, code):
            pricing.save_promotion(uow, code, data, actor=actor)
            created.append(f"promotion {code} ({data.name})")
    skus = _three_for_two_skus(uow)
    if not skus:
        skus = best_sellers(uow, leave_out=_bought_skus(uow, customer_id))
        if skus:
            pricing.save_promotion(
                uow,
                THREE_FOR_TWO,
                PromotionWrite(
                    name=THREE_FOR_TWO_NAME,
                    effect=BuyXGetY(type="buy_x_get_y", skus=skus, buy=2, get=1),
                    priority=20,
                ),
                actor=actor,
            )
            created.append(f"promotion {THREE_FOR_TWO} ({THREE_FOR_TWO_NAME} on {', '.join(skus)})")
    try:
        pricing.get_coupon(uow, COUPON)
    except UnknownCoupon:
        pricing.create_coupon(
            uow,
            CouponWrite(
                code=COUPON,
                promotion=WELCOME,
                max_uses=COUPON_MAX_USES,
                per_customer=1,
                valid_to=uow.now + timedelta(days=COUPON_DAYS),
            ),
            actor=actor,
        )
        created.append(f"coupon {COUPON} ({COUPON_MAX_USES} uses, {COUPON_DAYS} days)")
    if seed_delivery_fee(uow, actor=actor):
        created.append(f"{CHANNEL} home-delivery fee")
    if _programme_coupons(uow, actor=actor):
        created.append("loyalty welcome and birthday coupons")
    return DemoOffers(created=created, skus=skus)


def seed_delivery_fee(uow: UnitOfWork, *, actor: str) -> bool:
    """The web's home-delivery fee (free over ``FREE_OVER``), set up before the demo's own web
    orders so that they pay it as a shopper would; True when this made it."""
    try:
        pricing.get_fee(uow, CHANNEL, HOME_DELIVERY)
    except UnknownFee:
        pricing.save_fee(
            uow,
            CHANNEL,
            HOME_DELIVERY,
            FeeWrite(
                name="Home delivery",
                currency=catalog.channel_settings(uow, CHANNEL).currency,
                amount=Decimal("3.95"),
                free_over=FREE_OVER,
            ),
            actor=actor,
        )
        return True
    return False


@dataclass(frozen=True)
class TourOffer:
    """``TOUR_UNITS`` of the best seller in the demo customer's basket, priced as the shop
    prices it, without and with ``COUPON``: what the tour's pricing step says."""

    sku: str
    quote: QuoteRead
    with_coupon: QuoteRead

    def story(self, base: str) -> str:
        line, currency = self.quote.lines[0], self.quote.currency

        def money(amount: Decimal | None) -> str:
            return format_money(amount or 0, currency)

        offer = ", ".join(f'"{a.name}" {money(a.amount)}' for a in line.adjustments)
        fee = self.quote.fee
        return (
            f"{CUSTOMER_EMAIL}: {base}/shop/products/{self.sku} -> add {line.quantity} to"
            f" {base}/shop/basket: the line shows {offer or 'no offer'}"
            f" ({line.quantity} x {money(line.unit_price)} for {money(line.gross)}); try coupon"
            f" {COUPON} there ({WELCOME_PERCENT} % off, once each); home delivery"
            f" {money(fee.amount if fee else None)}, free over {money(FREE_OVER)}"
        )


def tour_offer(uow: UnitOfWork, sku: str, customer_id: int) -> TourOffer:
    return TourOffer(
        sku=sku,
        quote=tour_quote(uow, sku, customer_id),
        with_coupon=tour_quote(uow, sku, customer_id, coupons=[COUPON]),
    )


def tour_quote(
    uow: UnitOfWork, sku: str, customer_id: int, *, coupons: list[str] | None = None
) -> QuoteRead:
    """``TOUR_UNITS`` of ``sku`` in the customer's web basket, delivered home (``COUPON`` is
    once per customer: it needs one)."""
    return pricing.quote(
        uow,
        QuoteRequest(
            channel=CHANNEL,
            lines=[QuoteLine(sku=sku, quantity=TOUR_UNITS)],
            customer_id=customer_id,
            coupons=coupons or [],
            method=HOME_DELIVERY,
        ),
    )


def best_sellers(uow: UnitOfWork, leave_out: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The ``BEST_SELLERS`` SKUs sold most over the history's last weeks (the ones the opening
    stock puts in every store) that the web channel has a price for and the DC enough units
    free for a few tour baskets."""
    demand = history.weekly_demand(uow, weeks=DEMAND_WEEKS)
    free = {
        lv.sku: lv.available for lv in inventory.list_stock_levels(uow, location=DC, limit=100_000)
    }
    ranked = [
        sku
        for sku, weekly in sorted(demand.items(), key=lambda i: (-i[1], i[0]))
        if weekly and sku not in leave_out and free.get(sku, 0) >= MIN_FREE
    ]
    if not ranked:
        return []
    priced = pricing.quote(
        uow,
        QuoteRequest(
            channel=CHANNEL, lines=[QuoteLine(sku=sku, quantity=1) for sku in ranked[:200]]
        ),
    )
    return [ln.sku for ln in priced.lines if ln.unit_price][:BEST_SELLERS]


def _bought_skus(uow: UnitOfWork, customer_id: int | None) -> set[str]:
    """The SKUs in the customer's open cart and live orders (the demo's own)."""
    if customer_id is None:
        return set()
    bought = {
        ln.sku
        for order in orders.list_orders(uow, customer_id)
        if order.tracking_url
        for ln in order.lines
        if ln.sku
    }
    try:
        return bought | {ln.sku for ln in carts.find_active_cart(uow, customer_id, None).lines}
    except UnknownCart:
        return bought


def _missing_promotion(uow: UnitOfWork, code: str) -> bool:
    try:
        pricing.get_promotion(uow, code)
    except UnknownPromotion:
        return True
    return False


def _three_for_two_skus(uow: UnitOfWork) -> list[str]:
    try:
        effect = pricing.get_promotion(uow, THREE_FOR_TWO).effect
    except UnknownPromotion:
        return []
    return [str(sku) for sku in effect.get("skus") or []]


def _programme_coupons(uow: UnitOfWork, *, actor: str) -> bool:
    """The welcome and birthday coupons of the programme unlock the demo's promotions; True
    when this saved a new version of the rules."""
    programme = loyalty.get_programme(uow)
    wanted = {
        "welcome_coupon": CouponRule(
            promotion=WELCOME, description="Welcome: 10 % off your next order", valid_days=60
        ),
        "birthday_coupon": CouponRule(
            promotion=BIRTHDAY, description="Happy birthday: 15 % off", valid_days=30
        ),
    }
    rules = programme.rules
    if all(getattr(rules, name) == rule for name, rule in wanted.items()):
        return False
    if programme.version and programme.created_by != actor:
        return False  # HQ has its own rules
    loyalty.save_programme(uow, rules.model_copy(update=wanted), actor=actor)
    return True
