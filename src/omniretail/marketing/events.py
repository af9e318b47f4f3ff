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


@dataclass(frozen=True, kw_only=True)
class MessageSent(Event):
    """A send passed the decision and was handed to its channel (a notification or a card),
    in the same transaction as its status."""

    type: ClassVar[str] = "marketing.message_sent"
    subject_template: ClassVar[str] = "marketing/sends/{send_id}"
    send_id: int
    customer_id: int
    message_code: str
    channel: str
    journey_id: int | None = None
    step_id: str | None = None
