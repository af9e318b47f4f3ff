"""The carts face: what other packages use. Carts (one per customer on every channel, each line
holding an inventory reservation), channel prices, and the fulfilment options with promise dates
for a cart or a SKU. Checkout (``orders``) reads a cart as a ``CartView`` and closes it."""

from __future__ import annotations

from omniretail.carts.access import (
    CartOwner,
    cart_owner,
)
from omniretail.carts.cart import (
    add_line,
    attach_customer,
    cart_read,
    create_cart,
    find_active_cart,
    get_cart,
    refresh_cart,
    remove_line,
    update_line,
    validate_lines,
)
from omniretail.carts.coupons import apply_coupon, remove_coupon
from omniretail.carts.models import (
    CartStatus,
)
from omniretail.carts.options import (
    options_for,
    options_for_cart,
    options_for_sku,
)
from omniretail.carts.prices import (
    delete_price,
    list_prices,
    set_price,
)
from omniretail.carts.repository import (
    checkout_close,
    close_cart,
    reopen_cart,
)
from omniretail.carts.view import CartLineRow, CartView, load_cart

__all__ = [
    "CartLineRow",
    "CartOwner",
    "CartStatus",
    "CartView",
    "add_line",
    "apply_coupon",
    "attach_customer",
    "cart_owner",
    "cart_read",
    "checkout_close",
    "close_cart",
    "create_cart",
    "delete_price",
    "find_active_cart",
    "get_cart",
    "list_prices",
    "load_cart",
    "options_for",
    "options_for_cart",
    "options_for_sku",
    "refresh_cart",
    "remove_coupon",
    "remove_line",
    "reopen_cart",
    "set_price",
    "update_line",
    "validate_lines",
]
