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
class BackInStock(Event):
    """A SKU a customer asked to hear about is available again at that store (once per
    stock alert)."""

    type: ClassVar[str] = "marketing.back_in_stock"
    subject_template: ClassVar[str] = "marketing/customers/{customer_id}"
    customer_id: int
    sku: str
    store: str


@dataclass(frozen=True, kw_only=True)
class PriceDropped(Event):
    """A SKU in the customer's active cart or viewed in the last 30 days costs less now
    (prices are decimal strings; once per customer, SKU and new price; ``channel``: the sales
    channel whose price dropped, so sending re-checks that channel's price)."""

    type: ClassVar[str] = "marketing.price_dropped"
    subject_template: ClassVar[str] = "marketing/customers/{customer_id}"
    customer_id: int
    sku: str
    old_price: str
    new_price: str
    currency: str
    channel: str = "WEB"


@dataclass(frozen=True, kw_only=True)
class BrowseAbandoned(Event):
    """A signed-in customer viewed a SKU and neither carted nor ordered it since (once per
    customer, SKU and day; ``viewed_at``: ISO 8601 UTC)."""

    type: ClassVar[str] = "marketing.browse_abandoned"
    subject_template: ClassVar[str] = "marketing/customers/{customer_id}"
    customer_id: int
    sku: str
    viewed_at: str


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
