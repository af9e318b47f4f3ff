"""Reading the database directly to assert what a use case wrote (or did not write)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select, text

from omniretail.bootstrap import Container
from omniretail.db.idempotency import IdempotentRequest
from omniretail.db.outbox import OutboxMessage
from omniretail.inventory.availability import verify
from omniretail.inventory.models import StockHold, StockLevel, StockMovement, Transfer


def snapshot(container: Container) -> dict[str, Any]:
    """Row counts of every table a use case may write, and every stock counter."""
    with container.engine.connect() as conn:
        counts = {
            name: conn.scalar(select(func.count()).select_from(model))
            for name, model in (
                ("movements", StockMovement),
                ("outbox", OutboxMessage),
                ("holds", StockHold),
                ("transfers", Transfer),
                ("idempotency", IdempotentRequest),
            )
        }
        levels = conn.execute(
            select(StockLevel.__table__).order_by(StockLevel.sku_code, StockLevel.location_code)
        ).all()
        hold_states = conn.execute(
            select(StockHold.id, StockHold.status, StockHold.expires_at).order_by(StockHold.id)
        ).all()
    return {**counts, "levels": [tuple(r) for r in levels], "hold_states": hold_states}


def outbox_position(container: Container) -> int:
    with container.engine.connect() as conn:
        return int(conn.scalar(select(func.coalesce(func.max(OutboxMessage.position), 0))) or 0)


def events_after(container: Container, position: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """(type, data) of outbox events written after ``position``, oldest first."""
    with container.engine.connect() as conn:
        rows = conn.execute(
            select(OutboxMessage.type, OutboxMessage.data)
            .where(OutboxMessage.position > position)
            .order_by(OutboxMessage.position)
        ).all()
    return [(r[0], r[1]) for r in rows]


def event_types_after(container: Container, position: int = 0) -> list[str]:
    return [t for t, _ in events_after(container, position)]


def ledger(container: Container, sku: str | None = None) -> list[dict[str, Any]]:
    """Ledger rows oldest first, as dicts without id / timestamps."""
    stmt = select(StockMovement).order_by(StockMovement.id)
    if sku is not None:
        stmt = stmt.where(StockMovement.sku_code == sku)
    with container.uow() as uow:
        return [
            {
                "sku": m.sku_code,
                "location": m.location_code,
                "kind": m.kind,
                "on_hand": m.on_hand_delta,
                "reserved": m.reserved_delta,
                "allocated": m.allocated_delta,
                "in_transit": m.in_transit_delta,
                "reason": m.reason,
                "reference": m.reference,
            }
            for m in uow.session.scalars(stmt)
        ]


def counters(container: Container, sku: str, location: str) -> dict[str, int] | None:
    with container.engine.connect() as conn:
        row = conn.execute(
            select(
                StockLevel.on_hand, StockLevel.reserved, StockLevel.allocated, StockLevel.in_transit
            ).where(StockLevel.sku_code == sku, StockLevel.location_code == location)
        ).one_or_none()
    if row is None:
        return None
    return {"on_hand": row[0], "reserved": row[1], "allocated": row[2], "in_transit": row[3]}


def assert_verified(container: Container) -> None:
    with container.read_uow() as uow:
        report = verify(uow)
    assert report.drift == [], report.drift


def assert_outbox_json_round_trips(container: Container) -> None:
    """Every stored payload is plain JSON (what the relay and `events tail` will send)."""
    with container.engine.connect() as conn:
        raw = conn.execute(text("SELECT data FROM outbox")).scalars().all()
    for value in raw:
        decoded = json.loads(value) if isinstance(value, str) else value
        assert json.loads(json.dumps(decoded)) == decoded
