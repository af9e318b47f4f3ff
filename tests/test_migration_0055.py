"""Migration 0055 takes the tracking token (a bearer link to a page showing the pickup code)
out of the order events already in the outbox; other events are left as they were."""

from __future__ import annotations

import json

from sqlalchemy import text

from omniretail.db import migrate
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0054_goodwill_days"


def test_upgrade_scrubs_the_tracking_token_from_order_events(empty_engine):  # noqa: F811
    migrate.upgrade(empty_engine, BEFORE)
    events = {
        "e-1": ("omniretail.orders.order_confirmed", {"order": "OR-1", "tracking_token": "T1"}),
        "e-2": ("omniretail.orders.shipped", {"order": "OR-1", "tracking_token": "T1"}),
        "e-3": ("omniretail.inventory.received", {"sku": "A1", "tracking_token": "kept"}),
    }
    with empty_engine.begin() as conn:
        for event_id, (kind, data) in events.items():
            conn.execute(
                text(
                    "INSERT INTO outbox (id, type, source, subject, time, data, attempts)"
                    " VALUES (:id, :type, 'urn:t', 's', CURRENT_TIMESTAMP, :data, 0)"
                ),
                {"id": event_id, "type": kind, "data": json.dumps(data)},
            )
    migrate.upgrade(empty_engine, "0055_events_no_tracking_tokens")
    with empty_engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, data FROM outbox")).all())
    found = {k: v if isinstance(v, dict) else json.loads(v) for k, v in rows.items()}
    assert found == {
        "e-1": {"order": "OR-1"},
        "e-2": {"order": "OR-1"},
        "e-3": {"sku": "A1", "tracking_token": "kept"},
    }
