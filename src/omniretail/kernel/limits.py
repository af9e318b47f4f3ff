"""Bounds every request input shares, so both databases see only what they can store and
a new field has a type to reach for: text with a maximum length, whole numbers within the
column, timestamps with a time zone."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

MAX_INT32 = 2**31 - 1
MAX_INT64 = 2**63 - 1
# Units, points, counts: far beyond any real figure, well inside a 64-bit column and
# small enough that sums of many rows stay inside it too.
MAX_AMOUNT = 1_000_000_000
MAX_MONEY = Decimal("9999999999.99")

Tiny = Annotated[str, StringConstraints(max_length=40)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=4000)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2000)]

# One mailbox, ``local@domain``: nothing a mail header reads as a second recipient, a display
# name or another header (a comma, semicolon, angle bracket, quote, space, control character).
_MAILBOX = re.compile(r'[^@\s\x00-\x1f\x7f,;:<>()\[\]"\\]+@[^@\s\x00-\x1f\x7f,;:<>()\[\]"\\]+')
MAX_EMAIL = 320


def one_mailbox(value: str) -> bool:
    """Whether ``value`` is one email address (``To: a@x.test, b@y.test`` mails both)."""
    return len(value) <= MAX_EMAIL and _MAILBOX.fullmatch(value) is not None


def _mailbox(value: str) -> str:
    value = value.strip()
    if not one_mailbox(value):
        raise ValueError("not one email address (like name@example.com)")
    return value


EmailAddress = Annotated[str, StringConstraints(max_length=MAX_EMAIL), AfterValidator(_mailbox)]

# A row id (64-bit columns) and an id kept in a 32-bit column.
Id = Annotated[int, Field(ge=1, le=MAX_INT64)]
Id32 = Annotated[int, Field(ge=1, le=MAX_INT32)]
Count = Annotated[int, Field(ge=0, le=MAX_AMOUNT)]
Money = Annotated[Decimal, Field(ge=0, le=MAX_MONEY, max_digits=12, decimal_places=2)]


def _in_utc_range(value: datetime) -> datetime:
    """Stored in UTC: the year 1 east of Greenwich or 9999 west of it is out of range."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None
    return value


# Timestamps in requests must say their time zone ("2026-01-01T00:00:00Z" or "+01:00"); a
# naive one is a 422 "Input should have timezone info", never read in some zone by guess.
Timestamp = Annotated[AwareDatetime, AfterValidator(_in_utc_range)]

# Free-form JSON objects (attributes, event data): at most 100 members, 16 KiB as JSON.
MAX_OBJECT_MEMBERS = 100
MAX_OBJECT_BYTES = 16 * 1024


def _small_json(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value, default=str)) > MAX_OBJECT_BYTES:
        raise ValueError(f"at most {MAX_OBJECT_BYTES} bytes of JSON")
    return value


JsonObject = Annotated[
    dict[Annotated[str, StringConstraints(max_length=100)], Any],
    Field(max_length=MAX_OBJECT_MEMBERS),
    AfterValidator(_small_json),
]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ValueError, KeyError, OSError):
        raise ValueError("not a time zone name (e.g. Europe/London)") from None
    return value


# An IANA time zone name that this system can load.
TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_zone)]


def whole_number(text: str, *, maximum: int = MAX_INT64) -> int | None:
    """``text`` as a whole number from 0 to ``maximum``, or None when it is anything else.

    For values a caller types (form fields, headers, query strings): ``str.isdigit`` accepts
    "²" and other digits ``int`` refuses, and ``int`` refuses 5,000 digits, both a 500."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None


def loads_json(text: str | bytes) -> Any:
    """``json.loads`` for text a caller sent: nesting too deep to parse is refused as a
    ``json.JSONDecodeError`` like any other malformed JSON (``json`` raises RecursionError,
    which callers catching ValueError let through as a 500)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "", 0) from None


@dataclass(frozen=True)
class HoldCaps:
    """How many units one shopper's cart may hold on a web or app channel: of one SKU, and in
    all (one active cart per customer, so per customer too). The till's and the other staff
    channels are not capped."""

    units_per_sku: int = 30
    units_per_cart: int = 100
