"""One message, a rendition per channel.

A message's ``subject`` and ``body`` are Jinja2 templates run in a ``SandboxedEnvironment``
(no attribute tricks such as ``''.__class__``; a refused template raises
``MessageTemplateRefused``). A missing fact renders as nothing, so ``Hi {{ customer.first_name
}}`` reads "Hi " for a profile without a name rather than failing a send. The body is written
as paragraphs separated by a blank line; the HTML email is the body autoescaped in the brand
layout (``templates/marketing/layout.html``) with its CSS inlined (css-inline), because mail
clients drop ``<style>``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any

import css_inline
from jinja2 import (
    ChainableUndefined,
    Environment,
    PackageLoader,
    Template,
    TemplateError,
    Undefined,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from omniretail.kernel.money import format_money
from omniretail.kernel.templates import BoundedSandbox, render_bounded
from omniretail.marketing.errors import MessageTemplateRefused

CHANNELS = ("email", "sms", "push", "inbox", "store", "receipt")
PUSH_TITLE_LIMIT = 50
PUSH_BODY_LIMIT = 120
STORE_CARD_LIMIT = 120
RECEIPT_LINE_LIMIT = 48
# GSM 03.38 basic set and its extension table (an extension character takes two septets).
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}\\[~]|€\f"


@dataclass(frozen=True)
class SmsInfo:
    """``length`` in the encoding's units (septets for GSM-7, UTF-16 code units for UCS-2)."""

    encoding: str
    length: int
    segments: int


@dataclass(frozen=True)
class Links:
    """The tracked call to action and the unsubscribe link for one customer and channel."""

    link: str | None
    unsubscribe: str | None


@dataclass(frozen=True)
class Rendition:
    channel: str
    title: str | None = None
    text: str = ""
    html: str | None = None
    image_url: str | None = None
    link: str | None = None
    sms: SmsInfo | None = None
    limits: dict[str, int] = field(default_factory=dict)


def sms_info(text: str) -> SmsInfo:
    """GSM-7 when every character is in the GSM set: 160 in one segment, 153 per segment of
    a longer one; otherwise UCS-2: 70, then 67 (an emoji outside the BMP counts as two)."""
    if all(c in GSM_BASIC or c in GSM_EXTENSION for c in text):
        septets = sum(2 if c in GSM_EXTENSION else 1 for c in text)
        return SmsInfo("GSM-7", septets, 1 if septets <= 160 else math.ceil(septets / 153))
    units = len(text.encode("utf-16-le")) // 2
    return SmsInfo("UCS-2", units, 1 if units <= 70 else math.ceil(units / 67))


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word where possible, ending with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"


def money(value: Any, currency: str = "GBP") -> str:
    """``{{ 12.5 | money("GBP") }}`` -> ``£12.50``; a value that is not a number as it is."""
    try:
        return format_money(Decimal(str(value)), currency)
    except (InvalidOperation, ValueError):
        return str(value)


class _Sandbox(BoundedSandbox):
    """Refuses an unsafe attribute outright: the stock sandbox renders it as a blank, which a
    missing fact does too, so a probe for ``__class__`` would pass unnoticed."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        )


@cache
def _sandbox(autoescape: bool) -> SandboxedEnvironment:
    # None (a fact the profile lacks) prints as nothing, like an undefined name
    env = _Sandbox(
        autoescape=autoescape,
        undefined=ChainableUndefined,
        finalize=lambda value: "" if value is None else value,
    )
    env.filters["money"] = money
    return env


@cache
def _layout() -> Environment:
    return Environment(
        loader=PackageLoader("omniretail.marketing", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship in the package: no stat of their files per render
    )


def check_template(source: str, field_name: str) -> None:
    """Parse ``source`` in the sandbox, and render it once with no customer: a syntax error,
    or a template past the render budget (loops, output, widths), is the writer's, said
    beside the field. Other errors of the trial (a fact a customer will have) are not."""
    try:
        _sandbox(False).parse(source)
    except TemplateError as exc:
        raise MessageTemplateRefused(f"{field_name}: {exc}", field=field_name) from exc
    try:
        render_bounded(_compiled(source), {})
    except SecurityError as exc:
        raise MessageTemplateRefused(
            f"{field_name}: the template reached for something it may not ({exc})",
            field=field_name,
        ) from exc
    except Exception:  # only the budget is judged here
        return


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    # a send renders one message for many customers: compile it once
    return _sandbox(False).from_string(source)


def render_text(source: str, context: dict[str, Any], field_name: str) -> str:
    try:
        return render_bounded(_compiled(source), context)
    except SecurityError as exc:
        raise MessageTemplateRefused(
            f"{field_name}: the template reached for something it may not ({exc})",
            field=field_name,
        ) from exc
    except TemplateError as exc:
        raise MessageTemplateRefused(f"{field_name}: {exc}", field=field_name) from exc


def one_line(text: str) -> str:
    return " ".join(text.split())


def render_channel(
    channel: str,
    *,
    subject: str,
    body: str,
    link_label: str | None,
    image_url: str | None,
    context: dict[str, Any],
    links: Links,
) -> Rendition:
    """``subject`` and ``body`` as templates; ``links`` already tracked for this customer."""
    title = one_line(render_text(subject, context, "subject"))
    text = render_text(body, context, "body").strip()
    paragraphs = [one_line(p) for p in text.split("\n\n") if p.strip()]
    flat = " ".join(paragraphs)
    if channel == "email":
        return _email(title, paragraphs, link_label or "Shop now", image_url, links)
    if channel == "sms":
        sms = " ".join(
            part
            for part in (
                flat,
                links.link,
                f"Stop: {links.unsubscribe}" if links.unsubscribe else "",
            )
            if part
        )
        return Rendition("sms", text=sms, link=links.link, sms=sms_info(sms))
    if channel == "push":
        return Rendition(
            "push",
            title=truncate(title, PUSH_TITLE_LIMIT),
            text=truncate(flat, PUSH_BODY_LIMIT),
            link=links.link,
            limits={"title": PUSH_TITLE_LIMIT, "text": PUSH_BODY_LIMIT},
        )
    if channel == "inbox":
        return Rendition("inbox", title=title, text=flat, image_url=image_url, link=links.link)
    if channel == "store":
        return Rendition(
            "store",
            title=title,
            text=truncate(flat, STORE_CARD_LIMIT),
            limits={"text": STORE_CARD_LIMIT},
        )
    return Rendition(
        "receipt", text=truncate(title, RECEIPT_LINE_LIMIT), limits={"text": RECEIPT_LINE_LIMIT}
    )


def _email(
    title: str, paragraphs: list[str], link_label: str, image_url: str | None, links: Links
) -> Rendition:
    lines = [title, "", *[p + "\n" for p in paragraphs]]
    if links.link:
        lines.append(f"{link_label}: {links.link}\n")
    lines.append(f"Unsubscribe: {links.unsubscribe}")
    return Rendition(
        "email",
        title=title,
        text="\n".join(lines) + "\n",
        html=_email_html(title, paragraphs, link_label, image_url, links),
        image_url=image_url,
        link=links.link,
    )


def _layout_html(
    subject: str,
    paragraphs: list[str],
    link_label: str,
    image_url: str | None,
    link: str | None,
    unsubscribe: str | None,
) -> str:
    html = (
        _layout()
        .get_template("marketing/layout.html")
        .render(
            subject=subject,
            paragraphs=paragraphs,
            link=link,
            link_label=link_label,
            image_url=image_url,
            unsubscribe=unsubscribe,
        )
    )
    return css_inline.inline(html)


# The layout's CSS is selected by tag and class only, so the inlined page depends on its shape
# (how many paragraphs, an image, a link), not on the words: it is inlined once per shape with
# a marker in each slot and the customer's values are put in as the serializer would write them.
_SLOT = re.compile("\ue000([a-z]+)(\\d*)\ue001")
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTRIBUTE = str.maketrans({"&": "&amp;", '"': "&quot;"})
_ATTRIBUTES = ("image", "link", "unsubscribe")


@lru_cache(maxsize=64)
def _shape(paragraphs: int, image: bool, link: bool) -> tuple[str, ...]:
    def slot(name: str, n: str = "") -> str:
        return f"\ue000{name}{n}\ue001"

    inlined = _layout_html(
        slot("subject"),
        [slot("p", str(i)) for i in range(paragraphs)],
        slot("label"),
        slot("image") if image else None,
        slot("link") if link else None,
        slot("unsubscribe"),
    )
    # literal, slot, index, literal, slot, index, ..., literal
    return tuple(_SLOT.split(inlined))


def _email_html(
    title: str, paragraphs: list[str], link_label: str, image_url: str | None, links: Links
) -> str:
    values = [title, link_label, image_url or "", links.link or "", str(links.unsubscribe)]
    if not all(v.isprintable() for v in (*values, *paragraphs)):
        # control, private-use or non-breaking characters: the parser's own way
        return _layout_html(title, paragraphs, link_label, image_url, links.link, links.unsubscribe)
    parts = _shape(len(paragraphs), bool(image_url), bool(links.link))
    named = {
        "subject": title,
        "label": link_label,
        "image": image_url or "",
        "link": links.link or "",
        "unsubscribe": str(links.unsubscribe),
    }
    out = [parts[0]]
    for i in range(1, len(parts), 3):
        name, index = parts[i], parts[i + 1]
        value = paragraphs[int(index)] if name == "p" else named[name]
        out.append(value.translate(_ATTRIBUTE if name in _ATTRIBUTES else _TEXT))
        out.append(parts[i + 2])
    return "".join(out)
