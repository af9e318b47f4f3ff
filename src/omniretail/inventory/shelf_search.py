"""The shop's product search: what the shopper's store can sell now first, then the closest
matches by name (a stable order, so pages neither repeat nor skip an item)."""

from __future__ import annotations

from sqlalchemy import case, exists, select

from omniretail.catalog.models import Sku
from omniretail.catalog.schemas import SkuRead
from omniretail.db.uow import UnitOfWork
from omniretail.inventory.models import StockLevel


def search_skus_stocked_first(
    uow: UnitOfWork,
    *,
    location: str | None,
    query: str | None,
    offset: int = 0,
    limit: int = 24,
) -> list[SkuRead]:
    """Active SKUs matching ``query`` (all when None): those with units to promise at
    ``location`` first, then a code typed whole, names starting with the query, and the rest;
    by name and code within each."""
    stmt = select(Sku).where(Sku.active.is_(True))
    order = []
    if location is not None:
        level = StockLevel
        on_shelf = exists().where(
            level.sku_code == Sku.code,
            level.location_code == location,
            level.on_hand - level.reserved - level.allocated - level.safety_stock > 0,
        )
        order.append(case((on_shelf, 0), else_=1))
    if query and query.split():
        typed = query.strip()
        stmt = stmt.where(Sku.matching(typed))
        order.append(
            case(
                (Sku.code == typed.upper(), 0),
                (Sku.name.istartswith(typed, autoescape=True), 1),
                else_=2,
            )
        )
    stmt = stmt.order_by(*order, Sku.name, Sku.code).offset(offset).limit(limit)
    return [SkuRead.model_validate(s) for s in uow.session.scalars(stmt)]
