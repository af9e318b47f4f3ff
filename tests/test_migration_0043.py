"""Migration 0043 stamps ``planned_at`` on the unpublished outbox messages already planned
(the time of their first delivery), leaves published ones as they are (the partial index
leaves them out; a large outbox is not rewritten) and the others to plan, and
replaces ``ix_outbox_unpublished`` by the partial index of unplanned messages; its downgrade
puts the old index back and drops the column."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from omniretail.db import migrate
from omniretail.db.migrate import alembic_config
from tests.test_migration_0013 import empty_engine  # noqa: F401  (the fixture)

BEFORE = "0042_support_wire_attachments"
AFTER = "0043_outbox_planned_at"


def _outbox(conn, message_id: str, published_at: str | None) -> None:
    conn.execute(
        text(
            "INSERT INTO outbox (id, type, source, subject, time, data, attempts, published_at)"
            " VALUES (:id, 'omniretail.test.made', 'urn:t', 'things/1', '2026-01-01 00:00:00',"
            " '{}', 0, :published_at)"
        ),
        {"id": message_id, "published_at": published_at},
    )


def _delivery(conn, message_id: str, handler: str, created_at: str) -> None:
    conn.execute(
        text(
            "INSERT INTO deliveries (message_id, position, handler, status, attempts,"
            " next_attempt_at, created_at, updated_at)"
            " SELECT id, position, :handler, 'dead', 1, :at, :at, :at FROM outbox WHERE id = :id"
        ),
        {"id": message_id, "handler": handler, "at": created_at},
    )


def _indexes(engine) -> set[str]:
    return {i["name"] for i in inspect(engine).get_indexes("outbox")}


def test_planned_messages_are_stamped_published_ones_left_and_it_comes_back(empty_engine):  # noqa: F811
    migrate.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as conn:
        _outbox(conn, "published", "2026-01-02 00:00:00")  # no handler wanted it
        _outbox(conn, "dead", None)
        _delivery(conn, "dead", "test.b", "2026-01-03 00:00:05")
        _delivery(conn, "dead", "test.a", "2026-01-03 00:00:00")
        _outbox(conn, "new", None)

    command.upgrade(alembic_config(empty_engine), AFTER)
    with empty_engine.connect() as conn:
        stamped = {
            r.id: r.planned_at for r in conn.execute(text("SELECT id, planned_at FROM outbox"))
        }
        first = conn.execute(
            text("SELECT created_at FROM deliveries WHERE handler = 'test.a'")
        ).scalar_one()
    assert stamped == {"published": None, "dead": first, "new": None}
    assert "ix_outbox_unplanned" in _indexes(empty_engine)
    assert "ix_outbox_unpublished" not in _indexes(empty_engine)

    command.downgrade(alembic_config(empty_engine), BEFORE)
    columns = {c["name"] for c in inspect(empty_engine).get_columns("outbox")}
    assert "planned_at" not in columns
    assert "ix_outbox_unpublished" in _indexes(empty_engine)
    assert "ix_outbox_unplanned" not in _indexes(empty_engine)
