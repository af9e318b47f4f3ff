"""The console's Jinja2 environment (templates installed with the package) and its filters."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from omniretail import __version__
from omniretail.kernel.money import format_money
from omniretail.pricing.service import CATALOG_CURRENCY

DASH = "\N{EN DASH}"  # shown for a missing value
TEMPLATE_TAG = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\{#.*?#\}", re.DOTALL)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("omniretail.web", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship in the package: no stat of their files per render
    )
    env.filters.update(
        money=money,
        when=when,
        day=day,
        day_before=day_before,
        label=label,
        num=num,
        minutes=minutes,
        order_status=order_status,
        placeholders=placeholders,
    )
    env.globals.update(version=__version__, catalog_currency=CATALOG_CURRENCY)
    return env


def money(value: Any, currency: str) -> str:
    return DASH if value is None else format_money(Decimal(str(value)), currency)


def when(value: datetime | None) -> str:
    return value.strftime("%d %b %Y %H:%M") if value is not None else DASH


def day(value: date | datetime | None) -> str:
    return value.strftime("%a %d %b %Y") if value is not None else DASH


def day_before(value: date | datetime | None) -> str:
    """The last day a figure "as of" ``value`` counts (as-of dates are exclusive)."""
    return day(value - timedelta(days=1)) if value is not None else DASH


ACRONYMS = {"pos": "POS", "sms": "SMS", "sku": "SKU", "csv": "CSV", "api": "API", "url": "URL"}


def label(value: Any) -> str:
    """``ready_for_pickup`` -> ``Ready for pickup``; ``pos_customer`` -> ``POS customer``."""
    text = str(getattr(value, "value", value) or "").replace("_", " ").replace("-", " ")
    text = " ".join(ACRONYMS.get(word, word) for word in text.split(" "))
    return text[:1].upper() + text[1:]


def order_status(order: Any) -> str:
    """An order's status as its customer reads it: a completed order whose items all came
    back is ``Returned``, one with some back ``Partly returned`` (the account's list, the order
    pages and the HQ timeline say the same). ``order`` has ``lines``, or ``units`` and
    ``units_returned`` (``orders.orders_by_numbers``)."""
    if hasattr(order, "lines"):
        items = [ln for ln in order.lines if ln.sku and ln.status != "cancelled" and ln.quantity]
        units, back = sum(ln.quantity for ln in items), sum(ln.quantity_returned for ln in items)
    else:
        units, back = order.units, order.units_returned
    if not back:
        return label(order.status)
    if back >= units:
        return "Returned"
    if order.status == "completed":
        return "Partly returned"
    return f"{label(order.status)}, partly returned"


def num(value: Any, digits: int = 0) -> str:
    if value is None:
        return DASH
    return f"{float(value):,.{digits}f}" if digits else f"{round(float(value)):,}"


def minutes(value: float | None) -> str:
    """A span in minutes as a person reads it: ``0.2`` -> ``under a minute``, ``95`` ->
    ``1 h 35 min``, ``3000`` -> ``2 d 2 h``."""
    if value is None:
        return DASH
    whole = round(value)
    if value < 1:
        return "under a minute"
    if whole < 60:
        return f"{whole} min"
    hours, mins = divmod(whole, 60)
    if hours < 24:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def placeholders(source: str | None) -> Markup:
    """A message template as a reader sees it, nothing run: each ``{{ customer.first_name }}``
    a marked *first name* (the expression in its title), each ``{% ... %}`` a marked rule,
    comments left out; the rest escaped."""
    text = source or ""
    parts: list[str] = []
    at = 0
    for found in TEMPLATE_TAG.finditer(text):
        parts.append(str(escape(text[at : found.start()])))
        at = found.end()
        expression, statement = found.group(1), found.group(2)
        if expression is not None:
            shown = expression.split("|")[0].strip().rsplit(".", 1)[-1].replace("_", " ")
            whole = expression.strip()
        elif statement is not None:
            shown = whole = statement.strip("-+ \n\t")
        else:
            continue
        parts.append(
            f'<span class="placeholder" title="{escape(whole)}">{escape(shown or whole)}</span>'
        )
    parts.append(str(escape(text[at:])))
    return Markup("".join(parts))
