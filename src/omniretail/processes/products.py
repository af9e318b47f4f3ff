"""The product and SKU reads: the catalog's record with, for staff who may see stock, the
intelligence block (weekly forecast, reorder point and order-up-to level per location, bought
together). The catalog sits below inventory and intelligence and knows nothing of stock or
demand, so the composition is here."""

from __future__ import annotations

from pydantic import Field

from omniretail.auth import policy
from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import ProductRead, SkuRead
from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import service as intelligence
from omniretail.intelligence.schemas import ProductIntelligenceRead

STOCK_PERMISSION = "inventory:read"
INTELLIGENCE_NOTE = (
    "forecast, reorder points and bought-together from the last batch run; null for callers"
    f" without {STOCK_PERMISSION} (customers, marketers)"
)


class SkuView(SkuRead):
    intelligence: ProductIntelligenceRead | None = Field(description=INTELLIGENCE_NOTE)


class ProductView(ProductRead):
    intelligence: list[ProductIntelligenceRead] | None = Field(
        description=f"one per SKU: {INTELLIGENCE_NOTE}"
    )


def sees_stock(role: str | None) -> bool:
    """Reorder points and stock positions are internal: only roles that read inventory."""
    return role is not None and policy.allows(role, policy.R(STOCK_PERMISSION))


def product_view(uow: UnitOfWork, code: str, *, with_stock: bool) -> ProductView:
    product = catalog.get_product(uow, code.strip().upper())
    blocks = (
        intelligence.product_intelligence(uow, [s.code for s in product.skus])
        if with_stock
        else None
    )
    return ProductView(
        **dict(product), intelligence=list(blocks.values()) if blocks is not None else None
    )


def sku_view(uow: UnitOfWork, code: str, *, with_stock: bool) -> SkuView:
    sku = catalog.get_sku(uow, code.strip().upper())
    block = intelligence.product_intelligence(uow, [sku.code])[sku.code] if with_stock else None
    return SkuView(**dict(sku), intelligence=block)
