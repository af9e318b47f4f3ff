"""Marketing: one voice across every channel (segments, messages, journeys, sending).

Sits above loyalty, intelligence and history (it reads tiers, points and customer scores)
and below auth, processes and the edges. Used from outside through ``service``,
``schemas``, ``events`` and ``errors``.

Segments (``segments*.py``): saved CEL rules over per-customer facts (the variables are in
``segments_rules``), their members (``marketing_segments``, ``marketing_segment_members``),
kept live by ``handlers`` and by the ``marketing.segments_refresh`` job. Emits
``marketing.segment_entered`` and ``marketing.segment_exited``.

Sending (``sending*.py``): durable sends (``marketing_sends``, unique key) queued by journeys,
decided once at send time (``sending_decision``) and delivered in batches by ``deliver_due``
through ``notifications.notify_rendered`` (email, SMS, push) or as cards (app inbox, store,
receipt); the policy and suppressions in ``sending_policy``. Emits ``marketing.message_sent``.
"""
