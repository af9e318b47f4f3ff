"""Reads of stock levels and the ledger."""

from __future__ import annotations

from omniretail.db.uow import UnitOfWork
from omniretail.inventory import repository as repo
from omniretail.inventory.repository import Counters
from omniretail.inventory.schemas import MovementRead, StockLevelRead
from omniretail.inventory.service.ledger import require_sku_and_location, stock_level_read


def get_stock_level(uow: UnitOfWork, sku: str, location: str) -> StockLevelRead:
    counters = repo.get_counters(uow.session, sku, location)
    if counters is None:
        require_sku_and_location(uow, sku, location)
        return stock_level_read(Counters(sku, location, 0, 0, 0, 0, 0, None, None))
    return stock_level_read(counters)


def list_stock_levels(
    uow: UnitOfWork,
    *,
    sku: str | None = None,
    location: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[StockLevelRead]:
    rows = repo.list_counters(
        uow.session,
        [sku] if sku else None,
        [location] if location else None,
        limit=limit,
        offset=offset,
    )
    return [stock_level_read(c) for c in rows]


def list_movements(
    uow: UnitOfWork,
    *,
    sku: str | None = None,
    location: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[MovementRead]:
    rows = repo.list_movements(
        uow.session, sku=sku, location=location, before_id=before_id, limit=limit
    )
    return [
        MovementRead(
            id=m.id,
            sku=m.sku_code,
            location=m.location_code,
            kind=m.kind,
            on_hand_delta=m.on_hand_delta,
            reserved_delta=m.reserved_delta,
            allocated_delta=m.allocated_delta,
            in_transit_delta=m.in_transit_delta,
            reason=m.reason,
            actor=m.actor,
            reference=m.reference,
            created_at=m.created_at,
        )
        for m in rows
    ]
