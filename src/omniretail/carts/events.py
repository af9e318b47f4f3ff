"""Cart and price events (``omniretail.orders.cart_*``, ``omniretail.orders.price_*`` in
the outbox: the ``orders.`` prefix predates the carts package and stays)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omniretail.kernel.events import Event

CART_SUBJECT = "carts/{cart_id}"
PRICE_SUBJECT = "prices/{sku}@{channel}"


@dataclass(frozen=True, kw_only=True)
class CartCreated(Event):
    """A cart was opened on a channel (anonymous when ``customer_id`` is None)."""

    type: ClassVar[str] = "orders.cart_created"
    subject_template: ClassVar[str] = CART_SUBJECT
    cart_id: str
    channel: str
    customer_id: int | None


@dataclass(frozen=True, kw_only=True)
class CartLineAdded(Event):
    """Units of a SKU were added to a cart (and reserved). ``customer_id``: the cart's
    owner then (None: a guest's cart; absent from events stored before it was added)."""

    type: ClassVar[str] = "orders.cart_line_added"
    subject_template: ClassVar[str] = CART_SUBJECT
    cart_id: str
    sku: str
    quantity: int
    customer_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class CartLineChanged(Event):
    """A cart line's quantity was changed (its reservation follows). ``customer_id``: the cart's
    owner then (None: a guest's cart; absent from events stored before it was added)."""

    type: ClassVar[str] = "orders.cart_line_changed"
    subject_template: ClassVar[str] = CART_SUBJECT
    cart_id: str
    sku: str
    quantity: int
    customer_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class CartAttached(Event):
    """An anonymous cart was attached to a signed-in customer."""

    type: ClassVar[str] = "orders.cart_attached"
    subject_template: ClassVar[str] = CART_SUBJECT
    cart_id: str
    customer_id: int


@dataclass(frozen=True, kw_only=True)
class CartMerged(Event):
    """An anonymous cart was merged ``into`` the customer's active cart on sign-in."""

    type: ClassVar[str] = "orders.cart_merged"
    subject_template: ClassVar[str] = CART_SUBJECT
    cart_id: str
    into: str
    customer_id: int
    actor: str


@dataclass(frozen=True, kw_only=True)
class PriceSet(Event):
    """A SKU's price on a channel was set (``price``: a decimal string)."""

    type: ClassVar[str] = "orders.price_set"
    subject_template: ClassVar[str] = PRICE_SUBJECT
    sku: str
    channel: str
    price: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class PriceRemoved(Event):
    """A SKU's price on a channel was removed (the catalog's list price applies again)."""

    type: ClassVar[str] = "orders.price_removed"
    subject_template: ClassVar[str] = PRICE_SUBJECT
    sku: str
    channel: str
    actor: str
