"""Pricing: one engine prices every cart on every channel (``service.price_cart``).

Owns ``price_lists`` and ``price_list_entries`` (prices per SKU, chosen by priority then
scope, in force over a time window), ``tax_classes``, ``tax_rates`` (per country and class,
with validity dates) and ``product_tax_classes``. Reads the catalog's SKUs and products.
Emits ``pricing.*`` events. Used from outside through ``service``, ``schemas``, ``events``
and ``errors``; depends on ``catalog``.
"""
