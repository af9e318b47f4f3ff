"""Refund arithmetic without a database: units prorated in minor units (the last one takes
the remainder), a line's amounts split over parts of its units, and the one money formatter."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from omniretail.fulfilment.refunds import Paid, paid_of, split_line
from omniretail.kernel.money import format_money


@pytest.mark.parametrize(
    ("gross", "tax", "quantity", "currency", "unit_by_unit", "taxes"),
    [
        # 50.00 for three: 16.66, 16.67, 16.67 (never more than paid in all)
        ("50.00", "8.33", 3, "GBP", ["16.66", "16.67", "16.67"], ["2.77", "2.78", "2.78"]),
        ("40.00", "6.67", 3, "GBP", ["13.33", "13.33", "13.34"], ["2.22", "2.22", "2.23"]),
        ("0.00", "0.00", 2, "GBP", ["0.00", "0.00"], ["0.00", "0.00"]),
        # yen has no minor unit: 1000 for three is 333, 333, 334
        ("1000", "91", 3, "JPY", ["333", "333", "334"], ["30", "30", "31"]),
    ],
)
def test_units_returned_one_by_one_add_up_to_what_was_paid(
    gross, tax, quantity, currency, unit_by_unit, taxes
):
    paid = Paid(quantity=quantity, gross=Decimal(gross), tax=Decimal(tax), currency=currency)
    parts = [paid.between(i, 1) for i in range(quantity)]
    assert [str(g) for g, _t in parts] == unit_by_unit
    assert [str(t) for _g, t in parts] == taxes
    assert sum(g for g, _t in parts) == Decimal(gross)
    assert paid.between(0, quantity) == (Decimal(gross), Decimal(tax))


def test_a_line_without_a_breakdown_is_paid_unit_price_times_quantity():
    line = SimpleNamespace(
        pricing=None, net_amount=None, tax_amount=None, unit_price=Decimal("19.99"), quantity=3
    )
    assert paid_of(line, "GBP").gross == Decimal("59.97")
    assert split_line(line, [2, 1], "GBP") == [{}, {}]


def test_a_split_line_keeps_each_part_s_own_amounts():
    line = SimpleNamespace(
        pricing={"gross": "50.00", "tax": "8.33", "net": "41.67", "tax_rate": "0.2"},
        net_amount=Decimal("41.67"),
        tax_amount=Decimal("8.33"),
        unit_price=Decimal("20.00"),
        quantity=3,
    )
    staying, leaving = split_line(line, [2, 1], "GBP")
    assert (staying["net_amount"], staying["tax_amount"]) == (Decimal("27.78"), Decimal("5.55"))
    assert (leaving["net_amount"], leaving["tax_amount"]) == (Decimal("13.89"), Decimal("2.78"))
    assert (staying["pricing"]["gross"], leaving["pricing"]["gross"]) == ("33.33", "16.67")
    assert leaving["pricing"]["tax_rate"] == "0.2"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("1234.5", "GBP", "£1,234.50"),
        ("-5", "EUR", "-€5.00"),
        ("1234.5", "JPY", "¥1,235"),
        ("12", "SEK", "SEK 12.00"),
        ("1.2345", "KWD", "KWD 1.235"),
    ],
)
def test_money_is_formatted_in_its_own_currency(amount, currency, shown):
    assert format_money(Decimal(amount), currency) == shown
