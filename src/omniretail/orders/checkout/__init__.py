"""Checkout: the cart becomes an order in one transaction.

Steps, all in the caller's unit of work: read the cart with prices (1 statement); route the
lines (no read at all when the cart's reservations already sit where the rules would keep
them); take ship-from-store capacity; close the cart (conditional on the version read, so a
cart changed meanwhile is refused); turn reservations into allocations (or release them and
allocate where routing says); authorise the payment; insert the order, its fulfilments and
lines. Any failure raises, the transaction rolls back (holds as they were, no allocation, no
order) and ``payments.compensating`` voids whatever was authorised.
"""

from __future__ import annotations

from omniretail.orders.checkout.place import new_order_number, place_order
from omniretail.orders.checkout.rows import Placed

__all__ = ["Placed", "new_order_number", "place_order"]
