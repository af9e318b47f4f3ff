"""Notification templates: one folder per kind, one file per channel part.

``templates/notifications/<kind>/``: ``subject.txt`` (email subject, push title),
``email.txt``, ``email.html`` (autoescaped), ``sms.txt``, ``push.txt``. Undefined names are
errors, so a template typo or a missing context field fails loudly instead of sending a blank.

A secret of the context (``SECRETS``: the pickup code, which alone hands an order over at the
counter) is rendered between two marks (``SECRET_OPEN``, ``SECRET_CLOSE``, private-use
characters no text holds): the stored message keeps them, ``reveal`` drops them for the send
and ``mask`` blanks what lies between them for whoever reads the message log (staff).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
    UndefinedError,
    select_autoescape,
)

from omniretail.kernel.money import format_money
from omniretail.notifications.errors import NotificationContextIncomplete, UnknownNotificationKind
from omniretail.notifications.models import Channel

# What every template of a kind may rely on; the rest of the context is optional.
REQUIRED_CONTEXT: dict[str, tuple[str, ...]] = {
    "order_confirmed": ("order_number", "customer_name", "items", "total", "currency"),
    "ready_for_pickup": ("order_number", "customer_name", "pickup_code", "store"),
    "pickup_reminder": ("order_number", "customer_name", "pickup_code", "store"),
    # customer service sent a ship-to-store parcel to another store (``store``: the new one)
    "pickup_store_changed": ("order_number", "customer_name", "store"),
    "shipped": ("order_number", "customer_name", "carrier", "tracking_number"),
    "delivered": ("order_number", "customer_name"),
    "refunded": ("order_number", "customer_name", "refund_amount", "currency"),
    "cancelled": ("order_number", "customer_name", "currency"),
    "exchanged": ("order_number", "customer_name", "difference", "currency"),
    # a sale at a store's till, emailed instead of printed
    "receipt": ("order_number", "customer_name", "items", "total", "currency"),
    "return_requested": ("order_number", "customer_name", "return_code", "method", "return_by"),
    # to the store's devices: the customer of a curbside order is waiting at the kerb
    "curbside_arrived": ("order_number", "customer_name", "store"),
    # a coupon of the loyalty programme's (birthday, welcome): a code of the customer's own
    "loyalty_coupon": ("customer_name", "title", "coupon_code", "offer", "valid_until"),
}
KINDS = tuple(REQUIRED_CONTEXT)
# Context fields only the customer may read: marked in the text, shown masked to staff.
SECRETS = ("pickup_code",)
SECRET_OPEN, SECRET_CLOSE = "\ue000", "\ue001"
MASK = "\u2022"  # one per character of the secret: the message's length is unchanged
_MARKED = re.compile(f"{SECRET_OPEN}([^{SECRET_CLOSE}]*){SECRET_CLOSE}")


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    body: str
    html: str | None = None


def money(value: Any, currency: str) -> str:
    """``money("12.5", "GBP")`` -> ``£12.50``, ``money(1235, "JPY")`` -> ``¥1,235``
    (``kernel.money.format_money``); a value that is not a number is shown as it is."""
    try:
        return format_money(Decimal(str(value)), currency)
    except (InvalidOperation, ValueError):
        return str(value)


@cache
def environment() -> Environment:
    """Built on first use, not at import."""
    env = Environment(
        loader=PackageLoader("omniretail.notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship in the package: no stat of their files per render
    )
    env.filters["money"] = money
    return env


def render(kind: str, channel: Channel | str, context: dict[str, Any]) -> Rendered:
    """Render one notification for one channel, or raise a ``DomainError`` saying why not."""
    channel = Channel(channel)
    if kind not in REQUIRED_CONTEXT:
        raise UnknownNotificationKind(
            f"no notification kind {kind!r}; known: {', '.join(KINDS)}", field="kind"
        )
    missing = [name for name in REQUIRED_CONTEXT[kind] if name not in context]
    if missing:
        raise NotificationContextIncomplete(
            f"{kind} needs {', '.join(missing)} in its context", field="context", missing=missing
        )
    context = {
        **context,
        **{
            name: f"{SECRET_OPEN}{context[name]}{SECRET_CLOSE}"
            for name in SECRETS
            if context.get(name) is not None
        },
    }
    try:
        if channel is Channel.EMAIL:
            return Rendered(
                subject=_one_line(_render(kind, "subject.txt", context)),
                body=_render(kind, "email.txt", context),
                html=_render(kind, "email.html", context),
            )
        if channel is Channel.SMS:
            return Rendered(subject=None, body=_one_line(_render(kind, "sms.txt", context)))
        return Rendered(
            subject=_one_line(_render(kind, "subject.txt", context)),
            body=_one_line(_render(kind, "push.txt", context)),
        )
    except UndefinedError as exc:
        raise NotificationContextIncomplete(
            f"{kind} ({channel.value}): {exc.message}", field="context"
        ) from exc


def _render(kind: str, part: str, context: dict[str, Any]) -> str:
    try:
        template = environment().get_template(f"notifications/{kind}/{part}")
    except TemplateNotFound as exc:
        raise UnknownNotificationKind(f"no {part} template for {kind}", field="kind") from exc
    return template.render(context).strip() + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def reveal(text: str | None) -> str | None:
    """The text as sent: the secrets' marks dropped, the secrets left in clear."""
    if text is None:
        return None
    return text.replace(SECRET_OPEN, "").replace(SECRET_CLOSE, "")


def mask(text: str | None) -> str | None:
    """The text as staff read it: each secret's characters replaced by ``MASK``."""
    if text is None:
        return None
    return _MARKED.sub(lambda m: MASK * len(m.group(1)), text)
