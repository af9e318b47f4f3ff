"""Checkout: the cart becomes an order.

Steps: read the cart with prices (1 statement); route the lines (no read at all when the
cart's reservations already sit where the rules would keep them); take ship-from-store
capacity; close the cart (conditional on the version read, so a cart changed meanwhile is
refused); turn reservations into allocations (or release them and allocate where routing
says); authorise the payment; insert the order, its fulfilments and lines.

``checkout_paid`` (the API and the shop) authorises between two transactions, so no stock row
lock and no connection is held while the provider answers (``attempts``). ``place_order``
(the till, the demo) runs everything in the caller's transaction: any failure raises, the
transaction rolls back and ``payments.compensating`` voids whatever was authorised.
"""

from __future__ import annotations

from omniretail.orders.checkout.attempts import (
    PaymentSweep,
    Runner,
    checkout_paid,
    confirm_attempt,
    in_transaction,
    release_attempt,
    sweep_payment_attempts,
)
from omniretail.orders.checkout.place import begin_order, new_order_number, place_order
from omniretail.orders.checkout.rows import Placed

__all__ = [
    "PaymentSweep",
    "Placed",
    "Runner",
    "begin_order",
    "checkout_paid",
    "confirm_attempt",
    "in_transaction",
    "new_order_number",
    "place_order",
    "release_attempt",
    "sweep_payment_attempts",
]
