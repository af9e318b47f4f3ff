"""Domain events and their CloudEvents 1.0 envelope."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from omniretail.kernel.ids import new_id

EVENT_TYPE_PREFIX = "omniretail."


@dataclass(frozen=True)
class DomainEvent:
    """A fact that happened; ``type`` is dotted past tense, e.g. ``inventory.reserved``."""

    type: str
    subject: str
    data: dict[str, Any]
    id: str = field(default_factory=new_id)

    @property
    def full_type(self) -> str:
        return EVENT_TYPE_PREFIX + self.type


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
