"""The fulfilment face: the state machine per location (accept, pick, pack, ship, deliver,
ready for pickup, collect, reject with re-routing), cancelling, returns and exchanges, return
requests (by post or in store, received through the same return), curbside arrival, and the
sweep of uncollected pickups."""

from __future__ import annotations

from omniretail.fulfilment.cancellation import (
    SplitOff,
    cancel,
    cancel_lines,
)
from omniretail.fulfilment.curbside import (
    ArrivalBody,
    announce_arrival,
)
from omniretail.fulfilment.moves import (
    settle,
    void_lines,
)
from omniretail.fulfilment.pickup_changes import change_pickup_store, resend_pickup_code
from omniretail.fulfilment.pickup_codes import try_pickup_code
from omniretail.fulfilment.refunds import refunds_by_return_id, refunds_of_order
from omniretail.fulfilment.return_requests import (
    cancel_return_request,
    expire_return_requests,
    get_return_request,
    looks_like_return_code,
    normalise_return_code,
    receive_return_request,
    request_return,
    return_request_order,
    return_requests_of_order,
)
from omniretail.fulfilment.returns import (
    exchange_items,
    return_items,
)
from omniretail.fulfilment.tasks import (
    sweep_pickups_forever,
    sweep_pickups_once,
)
from omniretail.fulfilment.transitions import (
    accept,
    collect,
    deliver,
    pack,
    ready_for_pickup,
    reject,
    ship,
    start_picking,
    sweep_pickups,
)

__all__ = [
    "ArrivalBody",
    "SplitOff",
    "accept",
    "announce_arrival",
    "cancel",
    "cancel_lines",
    "cancel_return_request",
    "change_pickup_store",
    "collect",
    "deliver",
    "exchange_items",
    "expire_return_requests",
    "get_return_request",
    "looks_like_return_code",
    "normalise_return_code",
    "pack",
    "ready_for_pickup",
    "receive_return_request",
    "refunds_by_return_id",
    "refunds_of_order",
    "reject",
    "request_return",
    "resend_pickup_code",
    "return_items",
    "return_request_order",
    "return_requests_of_order",
    "settle",
    "ship",
    "start_picking",
    "sweep_pickups",
    "sweep_pickups_forever",
    "sweep_pickups_once",
    "try_pickup_code",
    "void_lines",
]
