"""How an order line reaches its customer (the fulfilment methods), and which of them are
handed over at the fulfilling location itself."""

from __future__ import annotations

from enum import StrEnum


class FulfilmentMethod(StrEnum):
    SHIP_TO_HOME = "ship_to_home"
    PICKUP_IN_STORE = "pickup_in_store"  # click & collect from the store's own stock
    SHIP_TO_STORE = "ship_to_store"  # another location sends the units to the pickup store
    LOCKER = "locker"
    CURBSIDE = "curbside"  # click & collect, handed over at the kerb


PICKUP_METHODS = frozenset(
    {
        FulfilmentMethod.PICKUP_IN_STORE,
        FulfilmentMethod.SHIP_TO_STORE,
        FulfilmentMethod.LOCKER,
        FulfilmentMethod.CURBSIDE,
    }
)


# Methods whose source location is the pickup location itself (no movement between sites).
COLLECT_AT_SOURCE = frozenset({FulfilmentMethod.PICKUP_IN_STORE, FulfilmentMethod.CURBSIDE})
