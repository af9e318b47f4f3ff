"""What access control needs to know about orders: which locations serve a fulfilment, or the
lines an order cancellation would touch, and whose a cart is. Read by ``auth.api.authorize``
(and the store app) before a use case runs; each is one indexed read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from omniretail.db.uow import UnitOfWork
from omniretail.orders import repository as repo
from omniretail.orders.models import FulfilmentStatus, LineStatus
from omniretail.routing.service import FulfilmentMethod

# The fulfilment steps of the API (``POST /fulfilments/{id}/<step>``) and the status each leads to.
STEPS: dict[str, FulfilmentStatus] = {
    "accept": FulfilmentStatus.ACCEPTED,
    "pick": FulfilmentStatus.PICKING,
    "pack": FulfilmentStatus.PACKED,
    "ship": FulfilmentStatus.SHIPPED,
    "deliver": FulfilmentStatus.DELIVERED,
    "ready": FulfilmentStatus.READY_FOR_PICKUP,
    "collect": FulfilmentStatus.COLLECTED,
    "reject": FulfilmentStatus.REJECTED,
}

STEP_FOR_STATUS = {status.value: step for step, status in STEPS.items()}


@dataclass(frozen=True)
class FulfilmentSites:
    """The location that sends a fulfilment and the one where it is collected (if any)."""

    method: FulfilmentMethod
    location: str
    pickup_location: str | None

    @property
    def served_at(self) -> frozenset[str]:
        return frozenset({self.location, self.pickup_location or self.location})

    def acting(self, step: str) -> frozenset[str]:
        """The locations whose staff perform ``step``: the sending location accepts, picks,
        packs, ships, rejects, marks delivered and makes ready what it hands over itself (or
        puts in a locker); the pickup location receives a ship-to-store parcel (``ready``)
        and hands over (``collect``). A step not listed in ``STEPS``: either location."""
        pickup = self.pickup_location or self.location
        if step == "collect" or (step == "ready" and self.method == FulfilmentMethod.SHIP_TO_STORE):
            return frozenset({pickup})
        if step in STEPS:
            return frozenset({self.location})
        return self.served_at


def fulfilment_sites(uow: UnitOfWork, fulfilment_id: str) -> FulfilmentSites | None:
    """Where fulfilment ``fulfilment_id`` is served (None: no such fulfilment); one primary-key
    read. A fulfilment never changes location (re-routing makes new ones)."""
    row = repo.get_fulfilment(uow.session, fulfilment_id)
    if row is None:
        return None
    return FulfilmentSites(
        FulfilmentMethod(row.method), row.location_code, row.pickup_location_code
    )


def cancel_sites(
    uow: UnitOfWork, number: str, line_nos: Sequence[int] | None
) -> list[tuple[int, frozenset[str]]] | None:
    """For a cancellation of order ``number``: each line it would cancel (the named ones, or
    every open line) with the locations serving it (sending and pickup). None: no such order.
    Lines without a fulfilment are left out (the cancellation refuses them itself)."""
    rows = repo.line_sites_of_order(uow.session, number)
    if not rows:
        return None
    named = None if line_nos is None else set(line_nos)
    return [
        (r.line_no, frozenset({r.location_code, r.pickup_location_code or r.location_code}))
        for r in rows
        if r.line_no is not None
        and r.location_code is not None
        and (r.line_no in named if named is not None else r.status == LineStatus.OPEN.value)
    ]


@dataclass(frozen=True)
class OrderOwner:
    customer_id: int | None  # None: a guest's order


def order_customer(uow: UnitOfWork, number: str) -> OrderOwner | None:
    """Whose order ``number`` is (None: no such order); one look-up by the unique number."""
    row = repo.get_order_by_number(uow.session, number)
    return None if row is None else OrderOwner(row.customer_id)


def fulfilment_customer(uow: UnitOfWork, fulfilment_id: str) -> OrderOwner | None:
    """Whose order fulfilment ``fulfilment_id`` belongs to (None: no such fulfilment)."""
    row = repo.get_fulfilment(uow.session, fulfilment_id)
    order = None if row is None else repo.get_order_by_id(uow.session, row.order_id)
    return None if order is None else OrderOwner(order.customer_id)
