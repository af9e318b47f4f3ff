"""The pricing engine without a database: rounding per currency, the choice of a price,
tax with and without prices including it, sharing amounts exactly, and the step a promotions
round plugs in. Amounts are written out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from omniretail.kernel.money import fits_currency, round_money
from omniretail.pricing.engine import (
    Adjustment,
    Candidate,
    DraftLine,
    LineRequest,
    PricingContext,
    Rate,
    SkuFacts,
    StepResult,
    allocate,
    choose,
    price_lines,
    split,
    tax_amounts,
)
from omniretail.pricing.errors import NoTaxRate

AT = datetime(2026, 11, 2, 9, tzinfo=UTC)
RATES = [
    Rate(
        country="GB",
        tax_class="standard",
        name="VAT standard",
        rate=D("0.2"),
        valid_from=datetime(2011, 1, 4, tzinfo=UTC),
        valid_to=None,
    ),
    Rate(
        country="JP",
        tax_class="standard",
        name="Consumption tax",
        rate=D("0.10"),
        valid_from=datetime(2019, 9, 30, 15, tzinfo=UTC),
        valid_to=None,
    ),
    Rate(
        country="JP",
        tax_class="reduced",
        name="Consumption tax (reduced)",
        rate=D("0.08"),
        valid_from=datetime(2019, 9, 30, 15, tzinfo=UTC),
        valid_to=None,
    ),
]
ZERO_RATE = Rate(
    country="GB",
    tax_class="zero",
    name="VAT zero",
    rate=D("0"),
    valid_from=datetime(1973, 4, 1, tzinfo=UTC),
    valid_to=None,
)


def uk() -> PricingContext:
    return PricingContext(
        channel="WEB", currency="GBP", country="GB", prices_include_tax=True, at=AT
    )


def jp() -> PricingContext:
    return PricingContext(
        channel="JPWEB", currency="JPY", country="JP", prices_include_tax=False, at=AT
    )


def cand(code: str, price: str, priority: int = 0, specificity: int = 0) -> Candidate:
    return Candidate(
        list_code=code,
        list_name=code.title(),
        priority=priority,
        specificity=specificity,
        valid_from=None,
        price=D(price),
    )


def facts(sku: str, *candidates: Candidate, list_price: str | None = None, tax: str = "standard"):
    return SkuFacts(
        sku=sku,
        name=f"Item {sku}",
        active=True,
        list_price=D(list_price) if list_price else None,
        tax_class=tax,
        candidates=candidates,
    )


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("1234.5", "JPY", "1235"),
        ("1234.49", "JPY", "1234"),
        ("0.005", "GBP", "0.01"),
        ("0.0049", "GBP", "0.00"),
        ("1.0005", "KWD", "1.001"),
    ],
)
def test_amounts_round_half_up_to_the_currency_minor_unit(amount, currency, rounded):
    assert str(round_money(D(amount), currency)) == rounded


def test_a_yen_amount_with_decimals_does_not_fit():
    assert not fits_currency(D("1234.5"), "JPY")
    assert fits_currency(D("1234"), "JPY")
    assert fits_currency(D("18.50"), "GBP")
    assert not fits_currency(D("18.505"), "GBP")


def test_the_highest_priority_wins_then_the_most_specific_then_the_catalog_price():
    everyone = cand("BASE", "20.00", priority=0, specificity=0)
    channel = cand("CHANNEL:WEB", "19.00", priority=0, specificity=1)
    sale = cand("SALE", "15.00", priority=10, specificity=0)
    assert choose(facts("A", everyone, channel), uk())[:2] == (D("19.00"), "CHANNEL:WEB")
    assert choose(facts("A", everyone, channel, sale), uk())[:2] == (D("15.00"), "SALE")
    assert choose(facts("A", list_price="22.00"), uk())[:2] == (D("22.00"), "SKU")
    # the catalog price is in GBP: a yen channel without a list has no price
    assert choose(facts("A", list_price="22.00"), jp()) is None


@pytest.mark.parametrize(
    ("amount", "rate", "currency", "inclusive", "expected"),
    [
        # UK, prices with VAT: 20.00 gross holds 3.33 VAT (20 / 1.2 = 16.666..)
        ("20.00", "0.2", "GBP", True, ("16.67", "3.33", "20.00")),
        ("37.00", "0.2", "GBP", True, ("30.83", "6.17", "37.00")),
        # UK, prices without VAT
        ("16.67", "0.2", "GBP", False, ("16.67", "3.33", "20.00")),
        # Japan, prices without tax: 1234 x 10 % = 123.4 -> 123
        ("1234", "0.10", "JPY", False, ("1234", "123", "1357")),
        # Japan, reduced 8 %: 1999 x 8 % = 159.92 -> 160
        ("1999", "0.08", "JPY", False, ("1999", "160", "2159")),
        # Japan, prices with tax: 1100 holds 100
        ("1100", "0.10", "JPY", True, ("1000", "100", "1100")),
    ],
)
def test_tax_per_line_with_and_without_prices_including_it(
    amount, rate, currency, inclusive, expected
):
    got = tax_amounts(D(amount), D(rate), currency, inclusive)
    assert tuple(str(x) for x in got) == expected


def test_a_cart_is_the_sum_of_its_lines_and_says_why_each_price():
    cart = price_lines(
        uk(),
        [LineRequest("1", "A", 2), LineRequest("2", "B", 1), LineRequest("3", "Z", 1)],
        {
            "A": facts("A", cand("CHANNEL:WEB", "18.50", specificity=1), list_price="20.00"),
            "B": facts("B", list_price="35.50", tax="zero"),
        },
        [*RATES, ZERO_RATE],
    )
    a, b, z = cart.lines
    assert (a.unit_price, a.price_list, a.net, a.tax, a.gross) == (
        D("18.50"),
        "CHANNEL:WEB",
        D("30.83"),
        D("6.17"),
        D("37.00"),
    )
    assert (b.price_list, b.tax, b.gross, b.tax_name) == ("SKU", D("0.00"), D("35.50"), "VAT zero")
    assert (z.priced, z.name) == (False, None)
    assert (cart.net, cart.tax, cart.gross) == (D("66.33"), D("6.17"), D("72.50"))
    assert cart.unpriced == ["Z"]


def test_a_yen_cart_has_no_minor_unit():
    cart = price_lines(
        jp(),
        [LineRequest("1", "A", 3), LineRequest("2", "B", 1)],
        {
            "A": facts("A", cand("JP", "1234")),
            "B": facts("B", cand("JP", "1999"), tax="reduced"),
        },
        RATES,
    )
    assert [(str(ln.net), str(ln.tax), str(ln.gross)) for ln in cart.lines] == [
        ("3702", "370", "4072"),
        ("1999", "160", "2159"),
    ]
    assert (str(cart.net), str(cart.tax), str(cart.gross)) == ("5701", "530", "6231")


def test_a_missing_tax_rate_is_refused_not_guessed():
    with pytest.raises(NoTaxRate):
        price_lines(uk(), [LineRequest("1", "A", 1)], {"A": facts("A", list_price="1")}, [])


def test_a_rate_applies_only_within_its_dates():
    old = Rate(
        country="GB",
        tax_class="standard",
        name="VAT 17.5",
        rate=D("0.175"),
        valid_from=datetime(1991, 4, 1, tzinfo=UTC),
        valid_to=datetime(2011, 1, 4, tzinfo=UTC),
    )
    ctx = PricingContext(
        channel="WEB",
        currency="GBP",
        country="GB",
        prices_include_tax=False,
        at=datetime(2010, 6, 1, tzinfo=UTC),
    )
    cart = price_lines(ctx, [LineRequest("1", "A", 1)], {"A": facts("A", list_price="100")}, [old])
    assert (cart.lines[0].tax, cart.lines[0].tax_name) == (D("17.50"), "VAT 17.5")
    with pytest.raises(NoTaxRate):  # the 17.5 % rate ended before the context's date
        price_lines(uk(), [LineRequest("1", "A", 1)], {"A": facts("A", list_price="1")}, [old])


@pytest.mark.parametrize(
    ("total", "weights", "currency", "shares"),
    [
        ("10.00", ["1", "1", "1"], "GBP", ["3.34", "3.33", "3.33"]),
        ("-5.00", ["30", "10"], "GBP", ["-3.75", "-1.25"]),
        ("100", ["1", "2"], "JPY", ["33", "67"]),
        ("0.01", ["0", "0"], "GBP", ["0.01", "0"]),
    ],
)
def test_shares_add_up_exactly(total, weights, currency, shares):
    got = allocate(D(total), [D(w) for w in weights], currency)
    assert [str(x) for x in got] == shares
    assert sum(got) == D(total)


def test_a_split_line_keeps_its_tax_exactly():
    cart = price_lines(
        uk(), [LineRequest("1", "A", 3)], {"A": facts("A", list_price="9.99")}, RATES
    )
    parts = split(cart.lines[0], [2, 1], "GBP")
    assert [(str(p["net"]), str(p["tax"]), str(p["gross"])) for p in parts] == [
        ("16.65", "3.33", "19.98"),
        ("8.32", "1.67", "9.99"),
    ]
    # 29.97 holds 4.995 VAT, rounded half up to 5.00; the parts keep it to the penny
    assert sum(p["tax"] for p in parts) == cart.lines[0].tax == D("5.00")


class TenPercentOffAndFiveOffTheOrder:
    """What a promotions round plugs in: a line adjustment and an order adjustment."""

    def apply(self, context: PricingContext, lines: Sequence[DraftLine]) -> StepResult:
        first = lines[0]
        return StepResult(
            lines={first.key: [Adjustment(name="10% off A", amount=-first.amount / 10)]},
            order=[Adjustment(name="£5 off", amount=D("-5.00"), source="WELCOME5")],
        )


def test_a_pricing_step_adjusts_lines_and_shares_order_adjustments_before_tax():
    cart = price_lines(
        uk(),
        [LineRequest("1", "A", 1), LineRequest("2", "B", 1)],
        {"A": facts("A", list_price="30.00"), "B": facts("B", list_price="10.00")},
        RATES,
        steps=[TenPercentOffAndFiveOffTheOrder()],
    )
    a, b = cart.lines
    # A: 30 - 3 = 27, B: 10; the 5 off is shared 27:10 -> 3.65 and 1.35
    assert [(x.name, x.amount) for x in a.adjustments] == [
        ("10% off A", D("-3.00")),
        ("£5 off", D("-3.65")),
    ]
    assert [(x.name, x.amount, x.source) for x in b.adjustments] == [
        ("£5 off", D("-1.35"), "WELCOME5")
    ]
    assert (a.gross, b.gross, cart.gross) == (D("23.35"), D("8.65"), D("32.00"))
    assert (a.tax, b.tax) == (D("3.89"), D("1.44"))
    assert [x.name for x in cart.adjustments] == ["£5 off"]
