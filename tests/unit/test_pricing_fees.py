"""Delivery and pickup fees in the engine, without a database: the fee of the chosen method,
its tax class, the free-over threshold, a ``free_delivery`` promotion waiving it (for any
method or only some), a coupon's budget covering the waiver. Amounts written out; GBP prices
entered with tax (A: 2 x 10.00, B: 3 x 4.00 = 32.00, tax 3.33 + 2.00) unless a case says."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from omniretail.pricing.engine import (
    Candidate,
    Fee,
    LineRequest,
    PricingContext,
    Rate,
    SkuFacts,
    price_lines,
)
from omniretail.pricing.errors import NoTaxRate
from omniretail.pricing.promotion_rules import FREE_DELIVERY_NOTE, ActivePromotion, PromotionsStep
from omniretail.pricing.schemas import FeeMethod
from omniretail.routing.methods import FulfilmentMethod

AT = datetime(2026, 12, 5, 10, tzinfo=UTC)
RATES = [
    Rate(
        country="GB",
        tax_class=cls,
        name=name,
        rate=rate,
        valid_from=datetime(2011, 1, 4, tzinfo=UTC),
        valid_to=None,
    )
    for cls, name, rate in (
        ("standard", "VAT", D("0.2")),
        ("reduced", "VAT reduced", D("0.05")),
        ("zero", "VAT zero", D("0")),
    )
]
FACTS = {
    "A": SkuFacts(sku="A", name="A", active=True, list_price=D("10.00"), tax_class="standard"),
    "B": SkuFacts(sku="B", name="B", active=True, list_price=D("4.00"), tax_class="standard"),
}
LINES = [LineRequest("a", "A", 2), LineRequest("b", "B", 3)]
HOME = Fee(method="ship_to_home", name="Home delivery", amount=D("3.95"), tax_class="standard")
CTX = PricingContext(
    channel="WEB",
    currency="GBP",
    country="GB",
    prices_include_tax=True,
    at=AT,
    method="ship_to_home",
    fee=HOME,
)


def promo(code: str, effect: dict, **kw) -> ActivePromotion:
    return ActivePromotion(
        code=code, name=kw.pop("name", code.title()), condition=None, effect=effect, **kw
    )


def price(*promos: ActivePromotion, ctx: PricingContext = CTX, lines=LINES):
    return price_lines(ctx, lines, FACTS, RATES, [PromotionsStep(promos)])


def test_the_fee_routing_methods_are_the_routing_methods():
    assert set(FeeMethod.__args__) == {m.value for m in FulfilmentMethod}


@pytest.mark.parametrize(
    ("fee", "includes_tax", "net", "tax", "gross"),
    [
        # entered with tax: 3.95 x 0.2 / 1.2 = 0.658 -> 0.66
        (HOME, True, "3.29", "0.66", "3.95"),
        # entered without tax: 3.95 + 0.79
        (HOME, False, "3.95", "0.79", "4.74"),
        # its own tax class: 5 % of a 3.95 gross = 0.188 -> 0.19
        (replace(HOME, tax_class="reduced"), True, "3.76", "0.19", "3.95"),
        (replace(HOME, tax_class="zero"), True, "3.95", "0.00", "3.95"),
        # free over 30.00 (the lines' gross, 32.00, reaches it)
        (replace(HOME, free_over=D("30")), True, "0.00", "0.00", "0.00"),
        # free over 40.00 (not reached)
        (replace(HOME, free_over=D("40")), True, "3.29", "0.66", "3.95"),
        # a free method (click & collect without a charge)
        (replace(HOME, amount=D("0")), True, "0.00", "0.00", "0.00"),
    ],
)
def test_the_fee_of_the_chosen_method(fee, includes_tax, net, tax, gross):
    ctx = replace(CTX, fee=fee, prices_include_tax=includes_tax)
    cart = price(ctx=ctx)
    assert cart.fee is not None
    assert (cart.fee.net, cart.fee.tax, cart.fee.gross) == (D(net), D(tax), D(gross))
    lines_gross = D("32.00") if includes_tax else D("38.40")
    assert cart.gross == lines_gross + D(gross)
    assert cart.tax == (D("5.33") if includes_tax else D("6.40")) + D(tax)
    assert cart.net == cart.gross - cart.tax


def test_free_over_names_the_threshold():
    cart = price(ctx=replace(CTX, fee=replace(HOME, free_over=D("30"))))
    assert cart.fee is not None
    assert [(a.name, a.amount, a.source) for a in cart.fee.adjustments] == [
        ("Home delivery: free over 30.00", D("-3.95"), "fee")
    ]


def test_free_over_counts_the_lines_after_their_discounts():
    # 10 % off: 28.80 < 30.00, so the fee is charged
    cart = price(
        promo("TEN", {"type": "percent_off", "percent": "10"}),
        ctx=replace(CTX, fee=replace(HOME, free_over=D("30"))),
    )
    assert cart.fee is not None and cart.fee.gross == D("3.95")
    assert cart.gross == D("32.75")


def test_no_method_no_fee():
    cart = price(ctx=replace(CTX, method=None, fee=None))
    assert cart.fee is None and cart.gross == D("32.00")


@pytest.mark.parametrize(
    ("effect", "method", "fee_gross", "waived_by"),
    [
        ({"type": "free_delivery"}, "ship_to_home", "0.00", ["Free delivery"]),
        (
            {"type": "free_delivery", "methods": ["ship_to_home"]},
            "ship_to_home",
            "0.00",
            ["Free delivery"],
        ),
        ({"type": "free_delivery", "methods": ["locker", "curbside"]}, "ship_to_home", "3.95", []),
        ({"type": "free_delivery", "methods": ["locker"]}, "locker", "0.00", ["Free delivery"]),
    ],
)
def test_free_delivery_waives_the_fee_with_the_promotions_name(
    effect, method, fee_gross, waived_by
):
    ctx = replace(CTX, method=method, fee=replace(HOME, method=method))
    cart = price(promo("SHIP", effect, name="Free delivery"), ctx=ctx)
    assert cart.fee is not None
    assert cart.fee.gross == D(fee_gross)
    assert [a.name for a in cart.fee.adjustments] == waived_by
    assert all(
        a.amount == D("-3.95") and a.source == "promotion:SHIP" for a in cart.fee.adjustments
    )
    assert cart.gross == D("32.00") + D(fee_gross)
    # the lines are untouched, no zero-money note once the method is known
    assert [x for ln in cart.lines for x in ln.adjustments] == []


def test_before_the_method_is_chosen_free_delivery_is_a_note():
    cart = price(promo("SHIP", {"type": "free_delivery"}), ctx=replace(CTX, method=None, fee=None))
    assert [(a.amount, a.note) for a in cart.line("a").adjustments] == [(D(0), FREE_DELIVERY_NOTE)]


def test_two_free_delivery_promotions_waive_the_fee_once():
    cart = price(
        promo("ASHIP", {"type": "free_delivery"}, name="Free delivery A"),
        promo("BSHIP", {"type": "free_delivery"}, name="Free delivery B"),
    )
    assert cart.fee is not None
    assert [a.name for a in cart.fee.adjustments] == ["Free delivery A"]
    assert cart.fee.gross == D("0.00")


@pytest.mark.parametrize(("budget", "fee_gross"), [("3.95", "0.00"), ("3.94", "3.95")])
def test_a_coupons_budget_must_cover_the_waived_fee(budget, fee_gross):
    coupon = promo("SHIP", {"type": "free_delivery"}, coupon="FREESHIP", budget_left=D(budget))
    cart = price(coupon)
    assert cart.fee is not None and cart.fee.gross == D(fee_gross)


def test_the_threshold_replaces_a_promotions_waiver():
    cart = price(
        promo("SHIP", {"type": "free_delivery"}),
        ctx=replace(CTX, fee=replace(HOME, free_over=D("30"))),
    )
    assert cart.fee is not None
    assert [a.source for a in cart.fee.adjustments] == ["fee"]


def test_a_fee_in_yen_has_no_minor_unit():
    ctx = PricingContext(
        channel="JPWEB",
        currency="JPY",
        country="GB",
        prices_include_tax=True,
        at=AT,
        method="locker",
        fee=Fee(method="locker", name="Locker", amount=D("350"), tax_class="standard"),
    )
    yen = Candidate(
        list_code="JP", list_name="JP", priority=0, specificity=1, valid_from=None, price=D(1000)
    )
    facts = {
        "Y": SkuFacts(
            sku="Y", name="Y", active=True, list_price=None, tax_class="standard", candidates=(yen,)
        )
    }
    cart = price_lines(ctx, [LineRequest("y", "Y", 1)], facts, RATES)
    # 350 x 0.2 / 1.2 = 58.33 -> 58 yen of tax; the line: 1000 / 6 = 166.67 -> 167
    assert cart.fee is not None
    assert (cart.fee.net, cart.fee.tax, cart.fee.gross) == (D(292), D(58), D(350))
    assert (cart.net, cart.tax, cart.gross) == (D(1125), D(225), D(1350))


def test_a_cart_without_priced_lines_has_no_fee():
    cart = price(lines=[])
    assert cart.fee is None and cart.gross == D("0.00")


def test_a_fee_without_a_tax_rate_is_refused_not_guessed():
    with pytest.raises(NoTaxRate):
        price(ctx=replace(CTX, fee=replace(HOME, tax_class="luxury")))
