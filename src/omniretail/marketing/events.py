"""Marketing events (``omniretail.marketing.*`` in the outbox); ids only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omniretail.kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class SegmentEntered(Event):
    """A customer entered a saved segment (a refresh or an event changing their facts)."""

    type: ClassVar[str] = "marketing.segment_entered"
    subject_template: ClassVar[str] = "marketing/segments/{segment_id}"
    segment_id: int
    customer_id: int


@dataclass(frozen=True, kw_only=True)
class SegmentExited(Event):
    """A customer left a saved segment."""

    type: ClassVar[str] = "marketing.segment_exited"
    subject_template: ClassVar[str] = "marketing/segments/{segment_id}"
    segment_id: int
    customer_id: int
