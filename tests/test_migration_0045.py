"""Migration 0045 adds ``deliveries.lane``: the notification sender's due deliveries move to
the background lane, every other delivery (and the sender's finished ones) stays in the
foreground; it adds the partial indexes the relay's and ``deliver_due``'s claims read, and
its downgrade drops them and the column."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from omniretail.db import migrate
from omniretail.db.migrate import alembic_config
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0044_security_hardening"
AFTER = "0045_delivery_lanes"
SENDER = "messaging.send_notification"


def _delivery(conn, message_id: str, handler: str, status: str) -> None:
    conn.execute(
        text(
            "INSERT INTO outbox (id, type, source, subject, time, data, attempts)"
            " VALUES (:id, 'omniretail.test.made', 'urn:t', 'things/1', '2026-01-01 00:00:00',"
            " '{}', 0)"
        ),
        {"id": message_id},
    )
    conn.execute(
        text(
            "INSERT INTO deliveries (message_id, position, handler, status, attempts,"
            " next_attempt_at, created_at, updated_at)"
            " SELECT id, position, :handler, :status, 0, :at, :at, :at FROM outbox WHERE id = :id"
        ),
        {"id": message_id, "handler": handler, "status": status, "at": "2026-01-01 00:00:00"},
    )


def _indexes(engine, table: str) -> set[str]:
    return {i["name"] for i in inspect(engine).get_indexes(table)}


def test_due_sends_move_to_the_background_lane_the_rest_stay_and_it_comes_back(empty_engine):  # noqa: F811
    migrate.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as conn:
        _delivery(conn, "send-pending", SENDER, "pending")
        _delivery(conn, "send-sending", SENDER, "sending")
        _delivery(conn, "send-done", SENDER, "delivered")
        _delivery(conn, "other-pending", "marketing.journeys.x", "pending")

    command.upgrade(alembic_config(empty_engine), AFTER)
    with empty_engine.connect() as conn:
        lanes = dict(conn.execute(text("SELECT message_id, lane FROM deliveries")).all())
    assert lanes == {"send-pending": 1, "send-sending": 1, "send-done": 0, "other-pending": 0}
    assert "ix_deliveries_lane_due" in _indexes(empty_engine, "deliveries")
    assert "ix_marketing_sends_undecided_due" in _indexes(empty_engine, "marketing_sends")

    command.downgrade(alembic_config(empty_engine), BEFORE)
    columns = {c["name"] for c in inspect(empty_engine).get_columns("deliveries")}
    assert "lane" not in columns
    assert "ix_deliveries_lane_due" not in _indexes(empty_engine, "deliveries")
    assert "ix_marketing_sends_undecided_due" not in _indexes(empty_engine, "marketing_sends")
