"""Support: one customer service over every contact channel (email in by SMTP or IMAP, web
chat, a signed webhook for social and messaging apps, phone and in-store contacts), each
conversation linked to the customer (verified identities, blind index) and the order.

Sits beside marketing, above fulfilment, orders and customers (it reads orders, return
requests and verified identities) and below auth, processes and the edges. Used from outside
through ``service``, ``schemas``, ``events`` and ``errors``.

Modules: ``models`` (tables), ``conversations`` (opening, messages, status, assignment,
links, merge and split, SLA due times), ``hours`` (business hours, pure), ``ingest`` (email
parsing, threading, quoted-reply trimming, linking; social messages), ``replies`` (agent
replies, notes with mentions, canned replies, logged contacts), ``chat`` (web chat by token),
``hooks`` (the ``Assistant`` port the chat is handed), ``signing`` (the inbound webhook's
HMAC), ``teams``, ``handlers`` (sending email replies through the relay), ``mail_in`` (the
aiosmtpd listener and the IMAP poller), ``api`` and ``cli``.

The self-service assistant (``assistant``): intents recognised offline (``assistant_model``,
data in ``intents/``), answered from live order, fulfilment, inventory, location and loyalty
data through those domains' public faces; it reveals order details only to a verified
customer and hands over to an agent below its confidence threshold.
"""
