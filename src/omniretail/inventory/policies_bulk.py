"""Reorder points and order-up-to levels for many SKU x location pairs at once (the
intelligence replenishment job). One conditional upsert per batch: rows whose policy is
unchanged are not touched, and the safety stock an operator set is left as it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_

from omniretail.db.sql import insert_for
from omniretail.db.uow import UnitOfWork
from omniretail.inventory.events import PolicySet, ReplenishmentSuggested
from omniretail.inventory.repository import LEVEL_COLUMNS, Counters, levels

BATCH = 2000


@dataclass(frozen=True)
class PolicyRow:
    sku: str
    location: str
    reorder_point: int
    order_up_to: int


def set_policies(uow: UnitOfWork, rows: Sequence[PolicyRow], *, actor: str) -> int:
    """Writes each row's reorder point and order-up-to level; records ``policy_set`` for the
    rows that changed and ``replenishment_suggested`` where the position is already at or
    below the new reorder point. Returns how many rows changed. SKUs and locations must exist
    (the foreign keys refuse others)."""
    changed: list[Counters] = []
    for offset in range(0, len(rows), BATCH):
        changed.extend(_upsert(uow, rows[offset : offset + BATCH], uow.now))
    for after in changed:
        uow.record(
            PolicySet(
                sku=after.sku_code,
                location=after.location_code,
                actor=actor,
                safety_stock=after.safety_stock,
                reorder_point=after.reorder_point,
                order_up_to=after.order_up_to,
            )
        )
        if after.reorder_point is not None and after.position <= after.reorder_point:
            target = after.order_up_to or 2 * after.reorder_point or 1
            uow.record(
                ReplenishmentSuggested(
                    sku=after.sku_code,
                    location=after.location_code,
                    position=after.position,
                    reorder_point=after.reorder_point,
                    order_up_to=after.order_up_to,
                    suggested_quantity=max(1, target - after.position),
                )
            )
    return len(changed)


def _upsert(uow: UnitOfWork, rows: Sequence[PolicyRow], now: datetime) -> list[Counters]:
    if not rows:
        return []
    statement = insert_for(uow.session)(levels).values(
        [
            {
                "sku_code": row.sku,
                "location_code": row.location,
                "on_hand": 0,
                "reserved": 0,
                "allocated": 0,
                "in_transit": 0,
                "safety_stock": 0,
                "reorder_point": row.reorder_point,
                "order_up_to": row.order_up_to,
                "updated_at": now,
            }
            for row in rows
        ]
    )
    new = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[levels.c.sku_code, levels.c.location_code],
        set_={
            "reorder_point": new.reorder_point,
            "order_up_to": new.order_up_to,
            "updated_at": new.updated_at,
        },
        where=or_(
            levels.c.reorder_point.is_distinct_from(new.reorder_point),
            levels.c.order_up_to.is_distinct_from(new.order_up_to),
        ),
    ).returning(*LEVEL_COLUMNS)
    return [Counters.from_row(r) for r in uow.session.execute(statement)]
