"""The typed event mechanism (kernel.events, messaging.handlers.on) and the generated catalogue."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from omniretail.kernel.events import EVENT_CLASSES, Event, catalogue, cloud_event
from omniretail.messaging.handlers import EventMeta, HandlerRegistry

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, kw_only=True)
class _Line:
    sku: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class _ThingShipped(Event):
    """A thing shipped (a test event)."""

    type: ClassVar[str] = "tests.thing_shipped"
    subject_template: ClassVar[str] = "things/{thing}"
    thing: str
    lines: list[_Line]
    note: str | None = None


def test_an_event_is_stored_as_its_cloud_event_and_parsed_back() -> None:
    event = _ThingShipped(thing="T1", lines=[_Line(sku="A", quantity=2)])
    stored = event.envelope(id="e1")
    assert (stored.full_type, stored.subject, stored.id) == (
        "omniretail.tests.thing_shipped",
        "things/T1",
        "e1",
    )
    assert stored.data == {"thing": "T1", "lines": [{"sku": "A", "quantity": 2}], "note": None}
    assert _ThingShipped.parse({**stored.data, "added_later": 1}) == event


def test_a_handler_subscribed_by_class_receives_the_class() -> None:
    registry = HandlerRegistry()
    received: list[tuple[_ThingShipped, EventMeta]] = []
    registry.on(_ThingShipped, "tests.record", lambda e, meta, _uow: received.append((e, meta)))
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    stored = _ThingShipped(thing="T2", lines=[]).envelope(id="e2")
    raw = cloud_event(
        id=stored.id,
        source="test",
        type=stored.full_type,
        subject=stored.subject,
        time=when,
        data=stored.data,
    )
    names = [r.name for r in registry.registrations if r.pattern == raw["type"]]
    assert names == ["tests.record"]
    uow_factory: Any = None
    registry.resolve("tests.record")(raw, uow_factory)
    assert received == [(_ThingShipped(thing="T2", lines=[]), EventMeta("e2", "things/T2", when))]


def test_two_classes_cannot_claim_one_type() -> None:
    with pytest.raises(TypeError, match="declared twice"):

        @dataclass(frozen=True, kw_only=True)
        class Other(Event):
            type: ClassVar[str] = "tests.thing_shipped"
            subject_template: ClassVar[str] = "x"

    assert EVENT_CLASSES["tests.thing_shipped"] is _ThingShipped


def test_the_catalogue_lists_type_doc_subject_and_fields() -> None:
    text = catalogue({"tests.thing_shipped": _ThingShipped})
    assert "### `omniretail.tests.thing_shipped`" in text
    assert "A thing shipped (a test event)." in text
    assert "subject `things/{thing}`" in text
    assert "| `note` | `str \\| None` |" in text


def test_docs_events_md_is_generated_from_the_classes() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "event_catalogue.py"), "--check"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert check.returncode == 0, check.stderr
