"""Order events (``omniretail.orders.*`` in the outbox): the order confirmed, cancelled,
refunded or exchanged, and the payment instructions recorded for the relay.

Customer-visible ones (each event the customer is notified of, and the collection) are in
``CUSTOMER_VISIBLE``. Every order event names the order number (its subject is
``orders/<number>``) and most carry its tracking token, so a handler can link to the tracking
page without a read. The fulfilment steps' events are in ``fulfilment.events``, the carts' in
``carts.events`` and the routing rules' in ``routing.events``; all keep the ``orders.`` type
prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from omniretail.kernel.events import Event

CUSTOMER_VISIBLE = frozenset(
    {
        "orders.order_confirmed",
        "orders.ready_for_pickup",
        "orders.pickup_reminder",
        "orders.pickup_store_changed",
        "orders.shipped",
        "orders.delivered",
        "orders.collected",
        "orders.refunded",
        "orders.cancelled",
        "orders.exchanged",
        "orders.return_requested",
    }
)

ORDER_SUBJECT = "orders/{order}"


@dataclass(frozen=True, kw_only=True)
class ConfirmedFulfilment:
    """One fulfilment of a confirmed order: where it ships from, how, and by when."""

    id: str
    method: str
    location: str
    pickup_location: str | None
    promised_date: str  # ISO date


@dataclass(frozen=True, kw_only=True)
class OrderConfirmed(Event):
    """A cart became an order at checkout: paid (authorised), routed and allocated."""

    type: ClassVar[str] = "orders.order_confirmed"
    subject_template: ClassVar[str] = ORDER_SUBJECT
    order: str
    customer_id: int | None
    channel: str
    total: str
    routing_version: int
    fulfilments: list[ConfirmedFulfilment]
    lines: list[dict[str, Any]]  # {"sku", "quantity"}


# The keys of the fulfilment an uncollected pickup's cancellation names (none for a
# cancellation asked for lines or the whole order).
FULFILMENT_KEYS = (
    "fulfilment_id",
    "method",
    "location",
    "pickup_location",
    "carrier",
    "tracking_number",
)


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(Event):
    """Lines or the whole order were cancelled (``partial``: some of the order goes ahead;
    lines split off a line name their ``from_line_no``), or an uncollected pickup went back
    to stock (then the fulfilment's keys are set instead of ``partial``). ``amount`` is the
    value voided."""

    type: ClassVar[str] = "orders.cancelled"
    subject_template: ClassVar[str] = ORDER_SUBJECT
    order: str
    customer_id: int | None
    fulfilment_id: str | None = None
    method: str | None = None
    location: str | None = None
    pickup_location: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    reason: str
    amount: str
    partial: bool | None = None
    lines: list[dict[str, Any]]  # {"line_no", "sku", "quantity"[, "from_line_no"]}

    @property
    def data(self) -> dict[str, Any]:
        data = super().data
        if self.fulfilment_id is None:
            for key in FULFILMENT_KEYS:
                del data[key]
        if self.partial is None:
            del data["partial"]
        return data


@dataclass(frozen=True, kw_only=True)
class OrderRefunded(Event):
    """Returned lines were refunded (a return, or an exchange that costs less); ``reason``
    is the return's when it had one line."""

    type: ClassVar[str] = "orders.refunded"
    subject_template: ClassVar[str] = ORDER_SUBJECT
    order: str
    customer_id: int | None
    return_id: str
    location: str
    amount: str
    reason: str | None
    lines: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class OrderExchanged(Event):
    """Returned lines were exchanged for new ones at a store; ``difference`` is what the
    customer paid (positive) or was refunded (negative)."""

    type: ClassVar[str] = "orders.exchanged"
    subject_template: ClassVar[str] = ORDER_SUBJECT
    order: str
    customer_id: int | None
    exchange_id: str
    location: str
    returned: list[dict[str, Any]]
    new_lines: list[dict[str, Any]]  # {"sku", "quantity"}
    difference: str


@dataclass(frozen=True, kw_only=True)
class PaymentRequested(Event):
    """A payment instruction recorded in the order's transaction; the relay carries it out
    with the provider after commit (keyed on the event id)."""

    subject_template: ClassVar[str] = ORDER_SUBJECT
    order: str
    action: str
    reference: str
    amount: str
    currency: str
    purpose: str
    fulfilment_id: str | None


@dataclass(frozen=True, kw_only=True)
class PaymentCaptureRequested(PaymentRequested):
    """A capture was asked for: lines were shipped or handed over."""

    type: ClassVar[str] = "orders.payment_capture_requested"


@dataclass(frozen=True, kw_only=True)
class PaymentVoidRequested(PaymentRequested):
    """A void was asked for: lines were cancelled, rejected without a new route or not
    collected."""

    type: ClassVar[str] = "orders.payment_void_requested"


@dataclass(frozen=True, kw_only=True)
class PaymentRefundRequested(PaymentRequested):
    """A refund was asked for: lines were returned, or an exchange cost less."""

    type: ClassVar[str] = "orders.payment_refund_requested"


PAYMENT_REQUESTED: dict[str, type[PaymentRequested]] = {
    "capture": PaymentCaptureRequested,
    "void": PaymentVoidRequested,
    "refund": PaymentRefundRequested,
}
