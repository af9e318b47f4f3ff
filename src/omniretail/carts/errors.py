"""Cart errors: each carries its problem type, title and HTTP status."""

from __future__ import annotations

from omniretail.kernel.errors import Conflict, InvalidRequest, NotFound
from omniretail.pricing.errors import NoPrice as NoPrice


class UnknownCart(NotFound):
    slug = "unknown-cart"
    title = "Unknown cart"


class UnknownCustomer(NotFound):
    slug = "unknown-customer"
    title = "Unknown customer"


class CartNotActive(Conflict):
    slug = "cart-not-active"
    title = "The cart is no longer active"


class UnknownCartLine(NotFound):
    slug = "unknown-cart-line"
    title = "The cart has no line for this SKU"


class HoldLimitReached(Conflict):
    """More units than one shopper may hold (``HoldCaps``): the rest is for other buyers."""

    slug = "hold-limit-reached"
    title = "More units than one shopper may hold"


class CartEmpty(InvalidRequest):
    slug = "cart-empty"
    title = "The cart is empty"


class LinesUnavailable(Conflict):
    """Some lines cannot be served as asked; ``lines`` says why and what is possible."""

    slug = "lines-unavailable"
    title = "Some lines can no longer be served"
