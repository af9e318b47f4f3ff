"""From a posted form to the API's schema, and from a refusal to messages beside the fields.

Browsers send every value as text; the API's schemas are strict (``"2"`` is not a quantity),
so each value is first converted to the type its field declares. A value that does not
convert is passed on as typed, and the schema's own message says what is wrong with it.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from omniretail.kernel.errors import DomainError

M = TypeVar("M", bound=BaseModel)
GENERAL = "__all__"
Errors = dict[str, str]


def coerce(schema: type[BaseModel], raw: Mapping[str, str]) -> dict[str, Any]:
    """The form's non-empty values for the schema's fields, as the types they declare."""
    data: dict[str, Any] = {}
    for name, field in schema.model_fields.items():
        if name not in raw:
            if _scalar(field.annotation) is bool:
                data[name] = False  # an unticked checkbox is not sent at all
            continue
        text = raw[name].strip()
        if text == "":
            continue
        data[name] = convert(text, _scalar(field.annotation))
    return data


def convert(text: str, kind: Any) -> Any:
    try:
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind is Decimal:
            return Decimal(text)
    except (ValueError, InvalidOperation):
        return text
    if kind is bool:
        return text.lower() in ("on", "true", "1", "yes")
    return text


def _scalar(annotation: Any) -> Any:
    """``int | None`` -> ``int``; ``Annotated[str, ...]`` -> ``str``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _scalar(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _scalar(kinds[0]) if len(kinds) == 1 else str
    return annotation


def body_of(schema: type[BaseModel], raw: Mapping[str, str], **fixed: Any) -> dict[str, Any]:
    """The API's request body for the form: its values for ``schema``'s fields, ``fixed``
    values (e.g. the associate's store) winning. The console authorises with this body and
    then validates it (``parse``), so both see the same thing."""
    return {**coerce(schema, raw), **fixed}


def parse(schema: type[M], raw: Mapping[str, str], **fixed: Any) -> M:
    """Raises ``ValidationError``; ``fixed`` values (e.g. the associate's store) win."""
    return schema.model_validate(body_of(schema, raw, **fixed))


def errors_of(
    exc: ValidationError | DomainError,
    rename: Mapping[str, str] | None = None,
    *,
    fields: Collection[str] | None = None,
) -> Errors:
    """Field name -> message, as the API's problem would name them (``GENERAL`` for the form).

    ``rename`` maps a schema's field path onto the form's input name where they differ; a
    field the form does not show (not in ``fields``) is reported for the whole form."""
    rename = rename or {}
    found: Errors = {}
    if isinstance(exc, DomainError):
        _add(found, rename.get(exc.field or GENERAL, exc.field or GENERAL), exc.detail, fields)
        return found
    for error in exc.errors():
        path = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "string_pattern_mismatch":
            message = plain_pattern(str((error.get("ctx") or {}).get("pattern", ""))) or message
        _add(found, rename.get(path, path) or GENERAL, message, fields)
    return found


_CLASS = r"\[((?:[A-Za-z0-9]-[A-Za-z0-9]|[_.:\\-])+)\]"
_PUNCTUATION = {"_": "underscores", "-": "hyphens", ".": "full stops", ":": "colons"}
_RANGES = {"A-Za-z": "letters", "a-z": "lower-case letters", "A-Z": "capital letters"}


def _characters(spec: str) -> str:
    words = []
    for span, name in _RANGES.items():
        if spec.startswith(span):
            words.append(name)
            spec = spec.removeprefix(span)
            break
    if spec.startswith("0-9"):
        words.append("digits")
        spec = spec.removeprefix("0-9")
    words += [_PUNCTUATION[c] for c in spec.replace("\\", "")]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def plain_pattern(pattern: str) -> str | None:
    """The characters a code allows, in words: ``^[A-Za-z0-9][A-Za-z0-9_-]*$`` -> "Only
    letters, digits, underscores and hyphens, starting with a letter or digit"; None for another
    pattern."""
    whole = re.fullmatch(rf"\^{_CLASS}\+\$", pattern)
    if whole:
        return f"Only {_characters(whole.group(1))}"
    led = re.fullmatch(rf"\^{_CLASS}{_CLASS}\*\$", pattern)
    if led:
        first = _characters(led.group(1)).replace("letters", "letter").replace("digits", "digit")
        return f"Only {_characters(led.group(2))}, starting with a {first.replace(' and ', ' or ')}"
    return None


def _add(found: Errors, field: str, message: str, fields: Collection[str] | None) -> None:
    if fields is not None and field not in fields and field != GENERAL:
        message, field = f"{field.replace('_', ' ')}: {message}", GENERAL
    found.setdefault(field, message)


def first_values(form: Any) -> dict[str, str]:
    """A submitted form as ``name -> text`` (files are not accepted by the console)."""
    return {k: v for k, v in form.items() if isinstance(v, str)}


def day_filter(text: str, field: str, errors: Errors, *, next_day: bool = False) -> datetime | None:
    """A date filter (YYYY-MM-DD) as the start of that day in UTC; ``next_day``: the end of it
    (a "to" date names the last day shown). A bad date is put in ``errors`` under ``field``."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        errors[field] = "Enter a date as YYYY-MM-DD."
        return None
    start = datetime.combine(day, datetime.min.time(), UTC)
    return start + timedelta(days=1) if next_day else start
