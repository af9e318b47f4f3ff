"""The fast condition shapes (``pricing.conditions``) agree with cel-python, and the index
keys read from conditions are the ones written out."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from omniretail.pricing.conditions import compile_fast, requirements
from omniretail.pricing.engine import DraftLine, PricingContext
from omniretail.pricing.promotion_rules import activation, compile_condition, holds

WEB = PricingContext(
    channel="WEB",
    currency="GBP",
    country="GB",
    prices_include_tax=True,
    at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
    customer_id=7,
    tier="gold",
    segments=frozenset({"students"}),
    coupons=("SAVE10",),
    first_order=True,
)
STORE = PricingContext(
    channel="STORE",
    currency="GBP",
    country="GB",
    prices_include_tax=True,
    at=datetime(2026, 11, 8, 18, 0, tzinfo=UTC),
    location="LON1",
)


def _line(key: str, sku: str, category: str, quantity: int, price: str) -> DraftLine:
    unit = Decimal(price)
    return DraftLine(
        key=key,
        sku=sku,
        quantity=quantity,
        tax_class="standard",
        unit_price=unit,
        amount=unit * quantity,
        category=category,
    )


CARTS = [
    (WEB, [_line("1", "A1", "Shoes", 2, "30.00"), _line("2", "B2", "Socks", 1, "4.50")]),
    (STORE, [_line("1", "C3", "Hats", 1, "12.00")]),
]
FAST = [
    'channel == "WEB"',
    '"WEB" == channel',
    'channel != "WEB" || location == "LON1"',
    "total >= 50.0",
    "total < 12.0",
    "units >= 3 && hour < 12",
    "weekday == 7",
    'date >= "2026-11-05"',
    '"students" in segments',
    '!("SAVE10" in coupons)',
    'tier in ["gold", "silver"]',
    "customer && first_order",
    "!customer",
    "size(lines) > 1",
    'lines.exists(l, l.category == "Shoes" && l.quantity >= 2)',
    'lines.exists(l, l.sku in ["C3", "D4"])',
    "lines.all(l, l.unit_price >= 10.0)",
    "lines.exists(l, l.amount > 50.0)",
    '(channel == "STORE") && !(total > 100.0)',
    "true",
    'currency == "JPY" || country == "GB"',
]
SLOW = [
    "total >= 50",  # int against double: cel-python's business
    "units + 1 > 2",
    'channel.startsWith("W")',
    "unknown == 1",
    'has(lines[0].sku) && lines[0].sku == "A1"',
    "total >= 50.0 ? true : false",
    'lines.exists(channel, channel.sku == "A1")',
]


@pytest.mark.parametrize("condition", FAST)
def test_fast_shapes_give_cel_pythons_answer(condition):
    predicate = compile_fast(compile_condition(condition).ast)
    assert predicate is not None
    for context, lines in CARTS:
        variables = activation(context, lines)
        assert predicate(variables) == holds(condition, variables), (condition, context.channel)


def test_the_fast_answers_written_out():
    answers = {
        c: [bool(compile_fast(compile_condition(c).ast)(activation(x, ls))) for x, ls in CARTS]  # type: ignore[misc]
        for c in ('channel == "WEB"', "total >= 50.0", 'lines.exists(l, l.sku in ["C3", "D4"])')
    }
    assert answers == {
        'channel == "WEB"': [True, False],
        "total >= 50.0": [True, False],
        'lines.exists(l, l.sku in ["C3", "D4"])': [False, True],
    }


@pytest.mark.parametrize("condition", SLOW)
def test_other_shapes_are_left_to_cel_python(condition):
    assert compile_fast(compile_condition(condition).ast) is None


def test_requirements_read_from_top_level_and_terms():
    def needs(text: str) -> tuple[object, object, object]:
        r = requirements(compile_condition(text).ast)
        return r.channels, r.skus, r.categories

    assert needs('channel == "APP" && total >= 30.0') == (frozenset({"APP"}), None, None)
    assert needs('channel in ["APP", "WEB"]') == (frozenset({"APP", "WEB"}), None, None)
    assert needs('lines.exists(l, l.sku == "A1" && l.quantity >= 2)') == (
        None,
        frozenset({"A1"}),
        None,
    )
    assert needs('units > 1 && lines.exists(l, l.category in ["Hats", "Shoes"])') == (
        None,
        None,
        frozenset({"Hats", "Shoes"}),
    )
    # an "or" requires nothing; neither does a term outside the shapes
    assert needs('channel == "APP" || total >= 30.0') == (None, None, None)
    assert needs('channel.startsWith("A")') == (None, None, None)
