"""Order errors: each carries its problem type, title and HTTP status."""

from __future__ import annotations

from omniretail.kernel.errors import Conflict, DomainError, InvalidRequest, NotFound


class UnknownOrder(NotFound):
    slug = "unknown-order"
    title = "Unknown order"


class CartChanged(Conflict):
    slug = "cart-changed"
    title = "The cart changed while checking out"


class InvalidFulfilmentChoice(InvalidRequest):
    slug = "invalid-fulfilment-choice"
    title = "The fulfilment choice is not valid"


class CardNumberRefused(InvalidRequest):
    slug = "card-number-refused"
    title = "Send a payment provider token, never a card number"


class PaymentDeclined(DomainError):
    slug = "payment-declined"
    title = "The payment was declined"
    status = 402


class PaymentUnavailable(DomainError):
    slug = "payment-unavailable"
    title = "The payment provider did not answer in time"
    status = 503
