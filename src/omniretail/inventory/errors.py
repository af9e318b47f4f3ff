from __future__ import annotations

from omniretail.kernel.errors import Conflict, InvalidRequest, NotFound


class OutOfStock(Conflict):
    slug = "out-of-stock"
    title = "Not enough stock"


class UnknownStock(NotFound):
    slug = "unknown-stock"
    title = "No stock record for this SKU at this location"


class ChannelDoesNotSellHere(InvalidRequest):
    slug = "channel-location-mismatch"
    title = "The channel does not sell from this location"


class UnknownHold(NotFound):
    slug = "unknown-hold"
    title = "Unknown reservation or allocation"


class HoldNotActive(Conflict):
    slug = "hold-not-active"
    title = "The reservation or allocation is no longer active"


class HoldTooSmall(Conflict):
    slug = "hold-too-small"
    title = "The allocation does not hold that many units to give up"


class ReservationExpired(Conflict):
    slug = "reservation-expired"
    title = "The reservation has expired"


class CountBelowAllocated(Conflict):
    slug = "count-below-allocated"
    title = "Counted quantity is below units allocated to orders"


class UnknownTransfer(NotFound):
    slug = "unknown-transfer"
    title = "Unknown transfer"


class IllegalTransferTransition(Conflict):
    slug = "illegal-transition"
    title = "That transition is not allowed in the transfer's current state"


class InvalidTransferReceipt(InvalidRequest):
    slug = "invalid-transfer-receipt"
    title = "The receipt does not match what the transfer still has due"


class InvalidPolicy(InvalidRequest):
    slug = "invalid-policy"
    title = "Invalid stock policy"
