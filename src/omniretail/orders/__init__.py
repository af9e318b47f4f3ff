"""Orders: checkout, the orders and their tracking, payments, what access control needs and the
order part of a GDPR erase.

Owns ``orders``/``order_lines`` (shared with the imported history), ``fulfilments`` and
``fulfilment_log`` (their state machine is run by ``fulfilment``). Emits ``orders.*`` events:
order_confirmed, cancelled, refunded, exchanged, payment_*_requested (``orders.events``).
Used from outside through ``service``, ``schemas``, ``events`` and ``errors``. Package order
(imports point down): fulfilment -> orders -> carts -> routing. See ``docs/orders.md``.
"""
