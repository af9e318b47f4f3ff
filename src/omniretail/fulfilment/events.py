"""Fulfilment events (``omniretail.orders.*`` in the outbox: the ``orders.`` prefix predates
the fulfilment package and stays): the steps of a fulfilment, its rejection and re-routing,
the pickup reminders and the curbside arrival. The order-level ones (cancelled, refunded,
exchanged) are in ``orders.events``.

Every step names the order (subject ``orders/<number>``), its tracking token and the
fulfilment: its id, method, location, pickup location, carrier and tracking number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

from omniretail.kernel.events import Event
from omniretail.orders.events import ORDER_SUBJECT


@dataclass(frozen=True, kw_only=True)
class FulfilmentEvent(Event):
    """The fields every fulfilment step names."""

    subject_template: ClassVar[str] = ORDER_SUBJECT
    order: str
    customer_id: int | None
    fulfilment_id: str
    method: str
    location: str
    pickup_location: str | None
    carrier: str | None
    tracking_number: str | None

    @classmethod
    def of(cls, order: Any, f: Any, **data: Any) -> Self:
        """The event of fulfilment row ``f`` of order row ``order``."""
        return cls(
            order=order.number,
            customer_id=order.customer_id,
            fulfilment_id=f.id,
            method=f.method,
            location=f.location_code,
            pickup_location=f.pickup_location_code,
            carrier=f.carrier,
            tracking_number=f.tracking_number,
            **data,
        )


@dataclass(frozen=True, kw_only=True)
class FulfilmentAccepted(FulfilmentEvent):
    """The fulfilling location accepted the fulfilment."""

    type: ClassVar[str] = "orders.fulfilment_accepted"


@dataclass(frozen=True, kw_only=True)
class FulfilmentPicking(FulfilmentEvent):
    """Picking started."""

    type: ClassVar[str] = "orders.fulfilment_picking"


@dataclass(frozen=True, kw_only=True)
class FulfilmentPacked(FulfilmentEvent):
    """The fulfilment was packed."""

    type: ClassVar[str] = "orders.fulfilment_packed"


@dataclass(frozen=True, kw_only=True)
class Shipped(FulfilmentEvent):
    """The fulfilment was shipped (to the customer, a locker, or the pickup store)."""

    type: ClassVar[str] = "orders.shipped"
    lines: list[dict[str, Any]]  # {"line_no", "sku", "quantity"}


@dataclass(frozen=True, kw_only=True)
class Delivered(FulfilmentEvent):
    """The carrier delivered the fulfilment."""

    type: ClassVar[str] = "orders.delivered"


@dataclass(frozen=True, kw_only=True)
class ReadyForPickup(FulfilmentEvent):
    """The fulfilment is ready to collect (``arrived_at_store``: it was sent to the store);
    it is held until ``collect_by`` (ISO timestamp). Its pickup code is not here: it hands
    the goods over, so it rests only sealed on the fulfilment (the email handler reads it)."""

    type: ClassVar[str] = "orders.ready_for_pickup"
    arrived_at_store: bool
    collect_by: str
    lines: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class PickupReminder(FulfilmentEvent):
    """The pickup sweep reminded the customer (the ``reminder``-th time) to collect."""

    type: ClassVar[str] = "orders.pickup_reminder"
    reminder: int
    collect_by: str


@dataclass(frozen=True, kw_only=True)
class PickupStoreChanged(FulfilmentEvent):
    """Customer service sent a ship-to-store parcel that had not left yet to another store
    (``pickup_location``; ``from_store``: where it was going)."""

    type: ClassVar[str] = "orders.pickup_store_changed"
    from_store: str | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class Collected(FulfilmentEvent):
    """The customer collected the fulfilment (``override``: without the pickup code, by an
    associate's logged override)."""

    type: ClassVar[str] = "orders.collected"
    override: bool


@dataclass(frozen=True, kw_only=True)
class FulfilmentRejected(Event):
    """The fulfilling location rejected the fulfilment; its lines are re-routed."""

    type: ClassVar[str] = "orders.fulfilment_rejected"
    subject_template: ClassVar[str] = ORDER_SUBJECT
    order: str
    fulfilment_id: str
    location: str
    reason: str
    note: str | None


@dataclass(frozen=True, kw_only=True)
class ReroutedFulfilment:
    """A fulfilment a re-route created."""

    id: str
    location: str
    method: str
    promised_date: str  # ISO date


@dataclass(frozen=True, kw_only=True)
class Rerouted(Event):
    """A rejected fulfilment's lines were routed again (``excluded``: the locations that
    rejected), or could not be (``fulfilments`` empty, the lines cancelled)."""

    type: ClassVar[str] = "orders.rerouted"
    subject_template: ClassVar[str] = ORDER_SUBJECT
    order: str
    from_fulfilment: str
    excluded: list[str]
    routing_version: int
    fulfilments: list[ReroutedFulfilment]


@dataclass(frozen=True, kw_only=True)
class CurbsideArrived(Event):
    """A curbside customer said they are at the store (``arrival``: the n-th arrival of the
    fulfilment; the vehicle stays in that log entry)."""

    type: ClassVar[str] = "orders.curbside_arrived"
    subject_template: ClassVar[str] = ORDER_SUBJECT
    order: str
    customer_id: int | None
    fulfilment_id: str
    location: str
    bay: str | None
    arrival: int


@dataclass(frozen=True, kw_only=True)
class ReturnRequestEvent(Event):
    """The fields every return request event names: the order and the request's code."""

    subject_template: ClassVar[str] = ORDER_SUBJECT
    order: str
    customer_id: int | None
    code: str
    method: str  # "post" or "in_store"


@dataclass(frozen=True, kw_only=True)
class ReturnRequested(ReturnRequestEvent):
    """The customer (or staff for them) started a return: the items are to be posted to the
    ``destination`` returns desk or handed in at a store before ``expires_at`` (ISO)."""

    type: ClassVar[str] = "orders.return_requested"
    reason: str
    destination: str | None
    expires_at: str
    lines: list[dict[str, Any]]  # {"line_no", "sku", "quantity"}


@dataclass(frozen=True, kw_only=True)
class ReturnRequestCancelled(ReturnRequestEvent):
    """An open return request was cancelled; its units can be requested again."""

    type: ClassVar[str] = "orders.return_request_cancelled"


@dataclass(frozen=True, kw_only=True)
class ReturnRequestExpired(ReturnRequestEvent):
    """An open return request passed its ``expires_at`` without being received."""

    type: ClassVar[str] = "orders.return_request_expired"


@dataclass(frozen=True, kw_only=True)
class ReturnRequestReceived(ReturnRequestEvent):
    """The request's items were received at ``location`` and booked as the return
    ``return_id`` (its ``orders.refunded`` is recorded just before, in the same transaction)."""

    type: ClassVar[str] = "orders.return_request_received"
    location: str
    return_id: str
    amount: str
