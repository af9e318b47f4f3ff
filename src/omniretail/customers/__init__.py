"""Customers: one profile per person across every channel.

Owns ``customers`` (profiles; names, addresses and birth dates encrypted), ``customer_identities``
(email, phone, card, POS number, device, social handle, external ids; claimed, or verified by
the platform with evidence; encrypted with a keyed blind index for look-ups),
``identity_verification_codes`` (one-time codes, hashed), ``customer_consents`` and
``consent_events`` (per purpose and channel, with full history), ``customer_activity`` (the
timeline, including ingested behavioural events), ``anonymous_links`` (stitching),
``customer_merges`` and ``merge_reviews`` (explainable resolution, exact un-merge) and
``privacy_requests`` (GDPR export and erase). Emits the ``customers.*`` events
of ``events``.
"""
