"""Carts: one cart per customer on every channel (each line holding an inventory
reservation), channel prices, and the fulfilment options with promise dates for a cart or a SKU.

Owns ``carts`` and ``cart_lines``; prices come from ``pricing`` (the channel's own prices
are its ``CHANNEL:<code>`` list). Emits ``orders.cart_*`` and ``orders.price_*`` events
(``carts.events``). Used from outside through ``service``, ``schemas``, ``events`` and
``errors``; depends on ``routing`` and ``pricing``.
"""
