"""Domain events: typed classes, and their CloudEvents 1.0 envelope.

A domain declares each event as a frozen dataclass subclass of ``Event`` in its ``events.py``::

    @dataclass(frozen=True, kw_only=True)
    class OrderConfirmed(Event):
        \"\"\"An order was placed and paid (checkout).\"\"\"

        type: ClassVar[str] = "orders.order_confirmed"
        subject_template: ClassVar[str] = "orders/{order}"
        order: str

``uow.record(OrderConfirmed(order=..., ...))`` stores it in the outbox; a handler subscribes with
``registry.on(OrderConfirmed, name, handler)`` and receives an ``OrderConfirmed`` again. The
stored format is the CloudEvent of ``DomainEvent``: ``type`` prefixed ``omniretail.``, the
``subject`` from the template, ``data`` the fields (JSON values only: str, int, float, bool,
None, lists and dicts of them, nested frozen dataclasses). ``docs/events.md`` is generated from
these classes (``catalogue()``).
"""

from __future__ import annotations

import builtins
import dataclasses
import typing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import TypeAdapter

from omniretail.kernel.ids import new_id

EVENT_TYPE_PREFIX = "omniretail."


@dataclass(frozen=True)
class DomainEvent:
    """A fact as stored; ``type`` is dotted past tense, e.g. ``inventory.reserved``."""

    type: str
    subject: str
    data: dict[str, Any]
    id: str = field(default_factory=new_id)

    @property
    def full_type(self) -> str:
        return EVENT_TYPE_PREFIX + self.type


# Every Event subclass, by its type (``orders.order_confirmed``).
EVENT_CLASSES: dict[str, type[Event]] = {}


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of the typed events; see the module docstring."""

    type: ClassVar[str]
    # ``str.format`` template over the fields, e.g. ``orders/{order}``.
    subject_template: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("type")
        if event_type is None:
            return  # an abstract intermediate class
        known = EVENT_CLASSES.get(event_type)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"event type {event_type!r} is declared twice")
        EVENT_CLASSES[event_type] = cls

    @classmethod
    def cloud_type(cls) -> str:
        return EVENT_TYPE_PREFIX + cls.type

    @property
    def data(self) -> dict[str, Any]:
        # flat events (the many) skip asdict's recursive deep copy: their values are immutable
        data = {name: getattr(self, name) for name in _field_names(type(self))}
        if all(type(v) in _SCALARS for v in data.values()):
            return data
        return dataclasses.asdict(self)

    @property
    def subject(self) -> str:
        return self.subject_template.format(**self.data)

    def envelope(self, *, id: str | None = None) -> DomainEvent:
        """The event as the outbox stores it."""
        data = self.data  # once: the subject is formatted from it too
        return DomainEvent(self.type, self.subject_template.format(**data), data, id or new_id())

    @classmethod
    def parse(cls: builtins.type[E], data: dict[str, Any]) -> E:
        """The event back from a stored CloudEvent's ``data`` (unknown keys are ignored)."""
        event: E = _adapter(cls).validate_python(data)
        return event


E = TypeVar("E", bound=Event)
_SCALARS = frozenset({str, int, float, bool, type(None)})


_FIELD_NAMES: dict[builtins.type[Any], tuple[str, ...]] = {}


def _field_names(cls: builtins.type[Event]) -> tuple[str, ...]:
    """An event class's field names (``dataclasses.fields`` costs more than reading them)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


_ADAPTERS: dict[builtins.type[Event], TypeAdapter[Any]] = {}


def _adapter(cls: builtins.type[E]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def cloud_event(
    *, id: str, source: str, type: str, subject: str, time: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": id,
        "source": source,
        "type": type,
        "subject": subject,
        "time": time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }


def catalogue(classes: dict[str, type[Event]] | None = None) -> str:
    """``docs/events.md``: every event type, when it is emitted, its subject and fields."""
    classes = EVENT_CLASSES if classes is None else classes
    lines = [
        "# Event catalogue",
        "",
        "Generated from the `Event` classes by `python scripts/event_catalogue.py`; a test fails",
        "when it differs. Every event is stored in the outbox and delivered as a CloudEvent 1.0",
        "with `type` = `omniretail.<type>`, the subject below, and the fields as `data`.",
        "",
    ]
    by_domain: dict[str, list[type[Event]]] = {}
    for event_type in sorted(classes):
        by_domain.setdefault(event_type.split(".", 1)[0], []).append(classes[event_type])
    for domain, members in by_domain.items():
        lines += [f"## {domain}", ""]
        for cls in members:
            lines += _describe(cls)
    return "\n".join(lines).rstrip() + "\n"


def _describe(cls: type[Event]) -> list[str]:
    doc = " ".join((cls.__doc__ or "").split())
    hints = typing.get_type_hints(cls)
    out = [
        f"### `{cls.cloud_type()}`",
        "",
        f"{doc}" if doc else "(undocumented)",
        "",
        f"Class `{cls.__module__}.{cls.__qualname__}`, subject `{cls.subject_template}`.",
        "",
        "| field | type |",
        "|---|---|",
    ]
    for f in dataclasses.fields(cls):
        out.append(f"| `{f.name}` | `{_type_name(hints[f.name])}` |")
    out.append("")
    return out


def _type_name(hint: Any) -> str:
    name = hint.__name__ if isinstance(hint, type) else str(hint)
    # A ``|`` would end the markdown table cell.
    return name.replace("typing.", "").replace("omniretail.", "").replace("|", "\\|")
