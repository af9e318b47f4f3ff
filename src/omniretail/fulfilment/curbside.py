"""Curbside: a store pickup handed over at the kerb. The customer says "I'm here" from the
tracking link (the token is the secret; the page shows no pickup code); the arrival is logged on
the order and recorded as ``orders.curbside_arrived``, whose handler pushes it to the store's
devices (``store:<code>``) so an associate brings the order out. Handover is the ordinary
``collect`` with the pickup code.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import repository as repo
from omniretail.fulfilment.errors import NotWaitingAtTheKerb
from omniretail.fulfilment.events import CurbsideArrived
from omniretail.orders import service as orders
from omniretail.orders.errors import UnknownOrder
from omniretail.orders.schemas import TrackingRead
from omniretail.orders.service import FulfilmentStatus
from omniretail.routing.service import FulfilmentMethod

ACTOR = "customer:tracking-link"


class ArrivalBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bay: str | None = Field(default=None, max_length=20, description="The bay number parked in")
    vehicle: str | None = Field(default=None, max_length=80, description="e.g. blue Golf")


def announce_arrival(uow: UnitOfWork, token: str, index: int, body: ArrivalBody) -> TrackingRead:
    """``index`` counts the fulfilments as the tracking page shows them (rejected ones left
    out). Saying it twice tells the store twice: nobody came out yet."""
    found = repo.get_order_by_token(uow.session, token)
    if found is None:
        raise UnknownOrder("no order with this tracking link", field="token")
    order = repo.lock_order_by_id(uow.session, found.id)
    if order is None:
        raise UnknownOrder("no order with this tracking link", field="token")
    shown = [
        f
        for f in repo.fulfilments_of_order(uow.session, order.id)
        if f.status != FulfilmentStatus.REJECTED.value
    ]
    if not 0 <= index < len(shown):
        raise UnknownOrder("this order has no such part", field="index")
    f = shown[index]
    if f.method != FulfilmentMethod.CURBSIDE.value or f.status != (
        FulfilmentStatus.READY_FOR_PICKUP.value
    ):
        raise NotWaitingAtTheKerb(
            f"this part of order {order.number} is {f.method.replace('_', ' ')},"
            f" {f.status.replace('_', ' ')}: only a curbside pickup that is ready can be"
            " brought out",
            field="index",
        )
    detail = {"bay": body.bay, "vehicle": body.vehicle}
    arrival = 1 + sum(
        1
        for e in repo.log_of_order(uow.session, order.id)
        if e.action == "customer_arrived" and e.fulfilment_id == f.id
    )
    repo.insert_log(
        uow.session,
        [repo.log_row(uow.now, order.id, f.id, "customer_arrived", ACTOR, detail)],
    )
    uow.record(
        CurbsideArrived(
            order=order.number,
            customer_id=order.customer_id,
            fulfilment_id=f.id,
            location=f.pickup_location_code,
            bay=body.bay,
            arrival=arrival,  # the vehicle stays in this log entry; the store's push reads it
        )
    )
    return orders.tracking_read(uow, token)
