"""The fulfilment face: the state machine per location (accept, pick, pack, ship, deliver,
ready for pickup, collect, reject with re-routing), cancelling, returns and exchanges, curbside
arrival, and the sweep of uncollected pickups."""

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
    "collect",
    "deliver",
    "exchange_items",
    "pack",
    "ready_for_pickup",
    "reject",
    "return_items",
    "settle",
    "ship",
    "start_picking",
    "sweep_pickups",
    "sweep_pickups_forever",
    "sweep_pickups_once",
    "void_lines",
]
