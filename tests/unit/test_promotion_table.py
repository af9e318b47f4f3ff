"""Promotions without a database, table-driven: bundles, buy X get Y (free and at a
discount), every condition variable, and the stacking rules (exclusive first, stackable
order, priority ties by code, a coupon's budget, a promotion limited to another currency,
yen with no minor unit). Expected amounts are written out; GBP prices are entered with tax
(A: 2 x 10.00, B: 3 x 4.00 = 32.00) unless a case says otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from omniretail.pricing.engine import (
    Candidate,
    LineRequest,
    PricingContext,
    Rate,
    SkuFacts,
    price_lines,
)
from omniretail.pricing.promotion_rules import ActivePromotion, PromotionsStep
from omniretail.pricing.schemas import PromotionWrite

AT = datetime(2026, 12, 5, 10, tzinfo=UTC)  # a Saturday, 10:00 UTC
CTX = PricingContext(
    channel="WEB", currency="GBP", country="GB", prices_include_tax=True, at=AT, tier="gold"
)
RATES = [
    Rate(
        country=country,
        tax_class="standard",
        name="VAT",
        rate=rate,
        valid_from=datetime(2011, 1, 4, tzinfo=UTC),
        valid_to=None,
    )
    for country, rate in (("GB", D("0.2")), ("JP", D("0.1")))
]
FACTS = {
    "A": SkuFacts(
        sku="A",
        name="A",
        active=True,
        list_price=D("10.00"),
        tax_class="standard",
        category="Shoes",
    ),
    "B": SkuFacts(
        sku="B", name="B", active=True, list_price=D("4.00"), tax_class="standard", category="Socks"
    ),
    "C": SkuFacts(
        sku="C", name="C", active=True, list_price=D("6.00"), tax_class="standard", category="Socks"
    ),
}
LINES = [LineRequest("a", "A", 2), LineRequest("b", "B", 3)]


def promo(code: str, effect: dict, **kw) -> ActivePromotion:
    return ActivePromotion(
        code=code,
        name=kw.pop("name", code.title()),
        condition=kw.pop("condition", None),
        effect=effect,
        **kw,
    )


def price(*promos: ActivePromotion, ctx: PricingContext = CTX, lines=LINES, facts=FACTS):
    return price_lines(ctx, lines, facts, RATES, [PromotionsStep(promos)])


def gross(cart) -> dict[str, D]:
    return {ln.key: ln.gross for ln in cart.lines}


def any_of(n: int, price_: str, **kw) -> dict:
    return {"type": "bundle", "components": [{"quantity": n}], "price": price_, **kw}


A_PLUS_B = [{"skus": ["A"], "quantity": 1}, {"skus": ["B"], "quantity": 1}]


@pytest.mark.parametrize(
    ("effect", "a", "b"),
    [
        # the dearest first: A 10 + A 10 + B 4 = 24 for 15 -> 9.00 off, 7.50 (20/24) on A,
        # 1.50 (4/24) on B; two B units left: no second bundle
        (any_of(3, "15"), "12.50", "10.50"),
        # the cheapest first: B + B + B = 12 for 10 -> 2.00 off B; A A cannot make a bundle
        (any_of(3, "10", pick="cheapest"), "20.00", "10.00"),
        # B B B = 12 is not more than 15: no discount (the bundle is still formed)
        (any_of(3, "15", pick="cheapest"), "20.00", "12.00"),
        # the set narrowed to the socks: B B B for 9 -> 3.00 off
        ({**any_of(3, "9"), "categories": ["Socks"]}, "20.00", "9.00"),
        # A + B for 12, twice: 2 x 2.00; per bundle 1.428571 on A and 0.571429 on B;
        # 4.00 shared in pence: A 2.86, B 1.14
        ({"type": "bundle", "components": A_PLUS_B, "price": "12"}, "17.14", "10.86"),
        # once only: 2.00 -> A 1.43, B 0.57
        (
            {"type": "bundle", "components": A_PLUS_B, "price": "12", "max_applications": 1},
            "18.57",
            "11.43",
        ),
        # A + B cost 14, less than 20: nothing
        ({"type": "bundle", "components": A_PLUS_B, "price": "20"}, "20.00", "12.00"),
        # two of the same in one component: A A for 15 -> 5.00 off A
        (
            {"type": "bundle", "components": [{"skus": ["A"], "quantity": 2}], "price": "15"},
            "15.00",
            "12.00",
        ),
    ],
)
def test_bundles(effect, a, b):
    cart = price(promo("BUN", effect, currency="GBP", name="Bundle deal"))
    assert gross(cart) == {"a": D(a), "b": D(b)}
    assert {x.name for ln in cart.lines for x in ln.adjustments} <= {"Bundle deal"}


@pytest.mark.parametrize(
    ("effect", "a", "b"),
    [
        # 5 units, groups of 3: one group; the cheapest unit (B 4.00) free
        ({"buy": 2, "get": 1}, "20.00", "8.00"),
        # at a discount: the cheapest unit half price
        ({"buy": 2, "get": 1, "percent": "50"}, "20.00", "10.00"),
        # groups of 2: two groups, the two cheapest units (B, B) free
        ({"buy": 1, "get": 1}, "20.00", "4.00"),
        # at 30 %: 2 x 1.20 off
        ({"buy": 1, "get": 1, "percent": "30"}, "20.00", "9.60"),
        ({"buy": 1, "get": 1, "max_applications": 1}, "20.00", "8.00"),
        # only A counts: 2 units, buy 1 get 1 -> one A free
        ({"buy": 1, "get": 1, "skus": ["A"]}, "10.00", "12.00"),
        # not enough units for a group
        ({"buy": 5, "get": 1}, "20.00", "12.00"),
    ],
)
def test_buy_x_get_y_free_or_at_a_discount(effect, a, b):
    cart = price(promo("BXGY", {"type": "buy_x_get_y", **effect}))
    assert gross(cart) == {"a": D(a), "b": D(b)}


@pytest.mark.parametrize(
    ("effect", "problem"),
    [
        (any_of(1, "5"), "at least two units"),
        ({"type": "bundle", "components": [], "price": "5"}, "at least 1 item"),
        ({"type": "buy_x_get_y", "buy": 1, "get": 1, "percent": "0"}, "greater than 0"),
        ({"type": "free_delivery", "methods": ["by_drone"]}, "ship_to_home"),
    ],
)
def test_invalid_effects_are_refused(effect, problem):
    with pytest.raises(ValidationError, match=problem):
        PromotionWrite(name="X", effect=effect, currency="GBP")


def test_a_bundle_needs_a_currency():
    with pytest.raises(ValidationError, match="needs a currency"):
        PromotionWrite(name="X", effect=any_of(3, "10"))


PCT = {"type": "percent_off", "percent": "10"}
FIVE = {"type": "order_amount_off", "amount": "5"}


KNOWN = PricingContext(
    channel="WEB",
    currency="GBP",
    country="GB",
    prices_include_tax=True,
    at=AT,
    customer_id=7,
    tier="gold",
    segments=frozenset({"vip", "parents"}),
    location="LON1",
    coupons=("SAVE10",),
    first_order=True,
)


@pytest.mark.parametrize(
    ("condition", "applies"),
    [
        ('channel == "WEB"', True),
        ('channel == "POS"', False),
        ('currency == "GBP"', True),
        ('country == "JP"', False),
        ('location == "LON1"', True),
        ('location == ""', False),
        ('tier == "gold"', True),
        ('tier in ["silver", "bronze"]', False),
        ('"vip" in segments', True),
        ('"staff" in segments', False),
        ("customer", True),
        ("first_order", True),
        ("!first_order", False),
        ('"SAVE10" in coupons', True),
        ('"OTHER" in coupons', False),
        # SKU and category sets
        ('lines.exists(l, l.sku in ["A", "Z"])', True),
        ('lines.all(l, l.sku in ["A", "Z"])', False),
        ('lines.exists(l, l.category in ["Socks", "Hats"])', True),
        ('!lines.exists(l, l.category == "Hats")', True),
        # quantities and values
        ("units >= 5", True),
        ("units > 5", False),
        ('lines.exists(l, l.sku == "B" && l.quantity >= 3)', True),
        ('lines.exists(l, l.sku == "A" && l.quantity >= 3)', False),
        ("lines.exists(l, l.unit_price >= 10.0)", True),
        ('lines.filter(l, l.category == "Socks").map(l, l.amount)[0] >= 12.0', True),
        ("total >= 32.0", True),
        ("total > 32.0", False),
        ("size(lines) == 2", True),
        # dates: the pricing time in UTC (Saturday 5 December 2026, 10:00)
        ('date >= "2026-12-01" && date <= "2026-12-24"', True),
        ('date < "2026-12-05"', False),
        ("hour >= 9 && hour < 12", True),
        ("hour >= 18", False),
        ("weekday == 6", True),
        ("weekday <= 5", False),
        # an evaluation error (an unknown variable, an index out of range): false
        ("nothing_known > 1", False),
        ('lines[5].sku == "A"', False),
    ],
)
def test_each_condition_variable(condition, applies):
    cart = price(
        promo("P", {"type": "percent_off", "percent": "10"}, condition=condition), ctx=KNOWN
    )
    assert cart.gross == (D("28.80") if applies else D("32.00"))


@pytest.mark.parametrize(
    ("first_order", "customer_id", "applies"),
    [(True, 7, True), (False, 7, False), (None, None, False)],
    ids=["first-order", "ordered-before", "anonymous"],
)
def test_first_order(first_order, customer_id, applies):
    ctx = PricingContext(
        channel="WEB",
        currency="GBP",
        country="GB",
        prices_include_tax=True,
        at=AT,
        customer_id=customer_id,
        first_order=first_order,
    )
    welcome = promo("W", FIVE, currency="GBP", condition="customer && first_order", name="Welcome")
    cart = price(welcome, ctx=ctx)
    assert cart.gross == (D("27.00") if applies else D("32.00"))


def _sources(cart) -> list[str]:
    return [x.source for ln in cart.lines for x in ln.adjustments]


@pytest.mark.parametrize(
    ("promos", "total", "applied"),
    [
        # exclusive first in order: alone (30 % of 32 = 9.60)
        (
            [
                promo("EXC", {"type": "percent_off", "percent": "30"}, priority=9, exclusive=True),
                promo("STK", PCT, priority=1),
            ],
            "22.40",
            {"promotion:EXC"},
        ),
        # a stackable one first: the exclusive one is skipped
        (
            [
                promo("EXC", {"type": "percent_off", "percent": "30"}, priority=1, exclusive=True),
                promo("STK", PCT, priority=9),
            ],
            "28.80",
            {"promotion:STK"},
        ),
        # stackable: 10 % (priority 2) then 5.00 off what is left: 28.80 - 5.00
        (
            [promo("TEN", PCT, priority=2), promo("FIVE", FIVE, currency="GBP", priority=1)],
            "23.80",
            {"promotion:TEN", "promotion:FIVE"},
        ),
        # the other order: 32.00 - 5.00 = 27.00, then 10 % -> 24.30
        (
            [promo("TEN", PCT, priority=1), promo("FIVE", FIVE, currency="GBP", priority=2)],
            "24.30",
            {"promotion:TEN", "promotion:FIVE"},
        ),
        # a tie of priorities: by code, "AFIVE" before "BTEN" -> 24.30
        (
            [promo("BTEN", PCT), promo("AFIVE", FIVE, currency="GBP")],
            "24.30",
            {"promotion:BTEN", "promotion:AFIVE"},
        ),
        # a tie of two exclusive ones: the first by code alone
        (
            [
                promo("BEXC", PCT, exclusive=True),
                promo("AEXC", FIVE, currency="GBP", exclusive=True),
            ],
            "27.00",
            {"promotion:AEXC"},
        ),
        # a coupon whose budget left (4.99) cannot cover its 5.00: skipped, the next applies
        (
            [
                promo("C", FIVE, currency="GBP", coupon="SAVE5", budget_left=D("4.99"), priority=5),
                promo("TEN", PCT),
            ],
            "28.80",
            {"promotion:TEN"},
        ),
        (
            [promo("C", FIVE, currency="GBP", coupon="SAVE5", budget_left=D("5.00"))],
            "27.00",
            {"coupon:SAVE5"},
        ),
        # limited to euros: skipped in a pound cart, the others still apply
        (
            [promo("EUR", FIVE, currency="EUR", priority=5, exclusive=True), promo("TEN", PCT)],
            "28.80",
            {"promotion:TEN"},
        ),
        # a condition that fails takes no part, even exclusive
        (
            [
                promo("EXC", PCT, exclusive=True, priority=9, condition='channel == "POS"'),
                promo("FIVE", FIVE, currency="GBP"),
            ],
            "27.00",
            {"promotion:FIVE"},
        ),
    ],
)
def test_stacking(promos, total, applied):
    cart = price(*promos)
    assert cart.gross == D(total)
    assert set(_sources(cart)) == applied


JPY = PricingContext(channel="JPWEB", currency="JPY", country="JP", prices_include_tax=True, at=AT)


def _yen(prices: dict[str, int]) -> dict[str, SkuFacts]:
    return {
        sku: SkuFacts(
            sku=sku,
            name=sku,
            active=True,
            list_price=None,
            tax_class="standard",
            candidates=(
                Candidate(
                    list_code="JP",
                    list_name="JP",
                    priority=0,
                    specificity=1,
                    valid_from=None,
                    price=D(p),
                ),
            ),
        )
        for sku, p in prices.items()
    }


@pytest.mark.parametrize(
    ("effect", "currency", "a", "b"),
    [
        # 999 x 10 % = 99.9 -> 100 yen off
        ({"type": "percent_off", "percent": "10", "skus": ["A"]}, None, "899", "999"),
        # 15 % of 333 x 3 = 149.85 -> 150
        ({"type": "percent_off", "percent": "15", "skus": ["B"]}, None, "999", "849"),
        # 100 yen off the order of 1,998 shared 999 : 999 -> 50 / 50, in whole yen
        ({"type": "order_amount_off", "amount": "100"}, "JPY", "949", "949"),
        # 7 % of 1998 = 139.86 -> 140, shared 70 / 70
        ({"type": "order_percent_off", "percent": "7"}, None, "929", "929"),
        # any 2 for 1,000: A 999 + B 333 (dearest first) = 1,332 -> 332 off, 249 on A and
        # 83 on B (999 : 333); B + B = 666 is not more than 1,000
        (any_of(2, "1000"), "JPY", "750", "916"),
        # a promotion in pounds is skipped in yen
        ({"type": "order_amount_off", "amount": "5"}, "GBP", "999", "999"),
    ],
)
def test_yen_has_no_minor_unit(effect, currency, a, b):
    lines = [LineRequest("a", "A", 1), LineRequest("b", "B", 3)]
    cart = price(
        promo("Y", effect, currency=currency),
        ctx=JPY,
        lines=lines,
        facts=_yen({"A": 999, "B": 333}),
    )
    assert gross(cart) == {"a": D(a), "b": D(b)}
    assert all(ln.gross == ln.gross.to_integral_value() for ln in cart.lines)
