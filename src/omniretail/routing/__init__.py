"""Routing: the pure routing engine (which locations fulfil which lines), the versioned
routing rules, plans from live stock and today's capacity, and promise dates.

Owns ``routing_rule_sets`` and ``capacity_usage``. Emits ``orders.routing_rules_saved``
(``routing.events``). Used from outside through ``service``, ``schemas``, ``events`` and
``errors``; the lowest of fulfilment -> orders -> carts -> routing.
"""
