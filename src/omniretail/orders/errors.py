"""Order errors: each carries its problem type, title and HTTP status."""

from __future__ import annotations

from omniretail.kernel.errors import Conflict, DomainError, InvalidRequest, NotFound


class UnknownCart(NotFound):
    slug = "unknown-cart"
    title = "Unknown cart"


class UnknownOrder(NotFound):
    slug = "unknown-order"
    title = "Unknown order"


class UnknownFulfilment(NotFound):
    slug = "unknown-fulfilment"
    title = "Unknown fulfilment"


class UnknownCustomer(NotFound):
    slug = "unknown-customer"
    title = "Unknown customer"


class CartNotActive(Conflict):
    slug = "cart-not-active"
    title = "The cart is no longer active"


class CartChanged(Conflict):
    slug = "cart-changed"
    title = "The cart changed while checking out"


class UnknownCartLine(NotFound):
    slug = "unknown-cart-line"
    title = "The cart has no line for this SKU"


class NoPrice(InvalidRequest):
    slug = "no-price"
    title = "The SKU has no price on this channel"


class CartEmpty(InvalidRequest):
    slug = "cart-empty"
    title = "The cart is empty"


class LinesUnavailable(Conflict):
    """Some lines cannot be served as asked; ``lines`` says why and what is possible."""

    slug = "lines-unavailable"
    title = "Some lines can no longer be served"


class NoRoute(Conflict):
    slug = "no-route"
    title = "No location can fulfil these lines under the routing rules"


class InvalidFulfilmentChoice(InvalidRequest):
    slug = "invalid-fulfilment-choice"
    title = "The fulfilment choice is not valid"


class InvalidRoutingRules(InvalidRequest):
    slug = "invalid-routing-rules"
    title = "The routing rules are not valid"


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "That transition is not allowed in the fulfilment's current state"


class WrongPickupCode(Conflict):
    slug = "wrong-pickup-code"
    title = "The pickup code does not match"


class NotCancellable(Conflict):
    slug = "not-cancellable"
    title = "These lines can no longer be cancelled"


class OverCapacity(Conflict):
    slug = "over-capacity"
    title = "The location has no ship-from-store capacity left today"


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


class NotReturnable(Conflict):
    slug = "not-returnable"
    title = "These items cannot be returned"


class NotWaitingAtTheKerb(Conflict):
    slug = "not-waiting-at-the-kerb"
    title = "This part of the order is not a curbside pickup that is ready"
