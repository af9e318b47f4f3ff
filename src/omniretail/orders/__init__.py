"""Orders: carts, channel prices, fulfilment options, routing, checkout, fulfilment, tracking.

Owns ``carts``/``cart_lines`` (one cart per customer on every channel, each line holding an
inventory reservation), ``prices`` (SKU x channel), ``routing_rule_sets`` (versioned routing
rules), ``orders``/``order_lines`` (shared with the imported history), ``fulfilments`` (one per
location and method, with its state machine), ``fulfilment_log`` and ``capacity_usage``.
Emits ``orders.*`` events: cart_created/line_added/line_changed/attached/merged,
order_confirmed, fulfilment_accepted/picking/packed/rejected, rerouted, shipped, delivered,
ready_for_pickup, pickup_reminder, collected, cancelled, routing_rules_saved, price_set,
price_removed. See ``docs/orders.md``.
"""
