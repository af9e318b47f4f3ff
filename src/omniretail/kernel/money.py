"""Currencies and their minor units (ISO 4217, as data), and rounding amounts to them.

Amounts are exact ``Decimal``s; an amount is rounded to its currency's minor unit half up
(0.005 GBP -> 0.01, 0.5 JPY -> 1), once per line (``pricing`` states where)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

# ISO 4217 minor units of the currencies a channel may sell in.
MINOR_UNITS: dict[str, int] = {
    "AUD": 2,
    "BHD": 3,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "ISK": 0,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "NOK": 2,
    "NZD": 2,
    "PLN": 2,
    "SEK": 2,
    "SGD": 2,
    "USD": 2,
}


def minor_unit(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise ValueError(f"unknown currency {currency!r}") from None


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 for GBP, 1 for JPY."""
    return Decimal(1).scaleb(-minor_unit(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def fits_currency(amount: Decimal, currency: str) -> bool:
    """Whether ``amount`` needs no finer unit than the currency has (1234.5 JPY does not)."""
    return amount == amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def _known(code: str) -> str:
    minor_unit(code)
    return code


CurrencyCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, min_length=3, max_length=3),
    AfterValidator(_known),
]
CountryCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_upper=True, min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$"
    ),
]


SYMBOLS: dict[str, str] = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥"}


def format_money(amount: Decimal | str | float | int, currency: str) -> str:
    """``£1,234.50``, ``¥1,235``, ``SEK 12.00``: the currency's symbol (or its code and a
    space) and its minor units; the one formatter of the console, receipts and emails."""
    code = currency.upper()
    value = round_money(Decimal(str(amount)), code) if code in MINOR_UNITS else Decimal(str(amount))
    places = MINOR_UNITS.get(code, 2)
    sign = "-" if value < 0 else ""
    symbol = SYMBOLS.get(code, code + " ")
    return f"{sign}{symbol}{abs(value):,.{places}f}"
