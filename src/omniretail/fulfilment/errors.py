"""Fulfilment errors: each carries its problem type, title and HTTP status."""

from __future__ import annotations

from omniretail.kernel.errors import Conflict, NotFound


class UnknownFulfilment(NotFound):
    slug = "unknown-fulfilment"
    title = "Unknown fulfilment"


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "That transition is not allowed in the fulfilment's current state"


class WrongPickupCode(Conflict):
    slug = "wrong-pickup-code"
    title = "The pickup code does not match"


class PickupCodeLocked(Conflict):
    """``PICKUP_CODE_TRIES`` codes were tried for the fulfilment: its code is refused until
    the store hands it over with an override and a reason (after an identity check)."""

    slug = "pickup-code-locked"
    title = "Too many wrong pickup codes: the code is refused"
    status = 423


class NotCancellable(Conflict):
    slug = "not-cancellable"
    title = "These lines can no longer be cancelled"


class NotReturnable(Conflict):
    slug = "not-returnable"
    title = "These items cannot be returned"


class NotWaitingAtTheKerb(Conflict):
    slug = "not-waiting-at-the-kerb"
    title = "This part of the order is not a curbside pickup that is ready"


class UnknownReturnRequest(NotFound):
    slug = "unknown-return-request"
    title = "Unknown return request"


class ReturnRequestClosed(Conflict):
    slug = "return-request-closed"
    title = "The return request is no longer open"


class PickupNotChangeable(Conflict):
    slug = "pickup-not-changeable"
    title = "The pickup store of this part of the order can no longer be changed"


class NoPickupCode(Conflict):
    slug = "no-pickup-code"
    title = "This part of the order is not waiting for pickup with a code"
