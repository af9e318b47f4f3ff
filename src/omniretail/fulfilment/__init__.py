"""Fulfilment: the state machine per location (accept, pick, pack, ship, deliver, ready for
pickup, collect, reject with re-routing), cancelling, returns and exchanges, curbside arrival,
the sweep of uncollected pickups, the tracking page and the customer notifications.

Works on the order tables owned by ``orders`` (through ``orders.service``; its own
conditional updates in ``repository.py``), and owns ``return_requests`` and
``return_request_lines`` (return authorisations, ``return_requests.py``). Emits the
fulfilment steps' and return requests' ``orders.*`` events (``fulfilment.events``) and
``orders.cancelled``/``refunded``/``exchanged`` (declared in ``orders.events``). Used
from outside through ``service``, ``schemas``, ``events`` and ``errors``; the top of
fulfilment -> orders -> carts -> routing.
"""
