"""Marketing: one voice across every channel (segments, messages, journeys, sending).

Sits above loyalty, intelligence and history (it reads tiers, points and customer scores)
and below auth, processes and the edges. Used from outside through ``service``,
``schemas``, ``events`` and ``errors``.
"""
