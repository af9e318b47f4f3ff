"""The product and SKU reads: the catalog's record with, for staff who may see stock, the
intelligence block (weekly forecast, reorder point and order-up-to level per location, bought
together). They live at the edge because the catalog sits below inventory and intelligence in
the import order and knows nothing of stock or demand."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field

from omniretail.api.deps import ReadDep
from omniretail.api.params import KeyPath
from omniretail.auth import policy
from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import ProductRead, SkuRead
from omniretail.intelligence import service as intelligence
from omniretail.intelligence.schemas import ProductIntelligenceRead

router = APIRouter(tags=["catalog"])
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


def sees_stock(request: Request) -> bool:
    """Reorder points and stock positions are internal: only roles that read inventory."""
    principal = getattr(request.state, "principal", None)
    return principal is not None and policy.allows(principal.role, policy.R(STOCK_PERMISSION))


@router.get("/products/{code}", response_model=ProductView)
def get_product(code: KeyPath, uow: ReadDep, request: Request) -> ProductView:
    product = catalog.get_product(uow, code.strip().upper())
    blocks = (
        intelligence.product_intelligence(uow, [s.code for s in product.skus])
        if sees_stock(request)
        else None
    )
    return ProductView(
        **dict(product), intelligence=list(blocks.values()) if blocks is not None else None
    )


@router.get("/skus/{code}", response_model=SkuView)
def get_sku(code: KeyPath, uow: ReadDep, request: Request) -> SkuView:
    sku = catalog.get_sku(uow, code.strip().upper())
    block = (
        intelligence.product_intelligence(uow, [sku.code])[sku.code]
        if sees_stock(request)
        else None
    )
    return SkuView(**dict(sku), intelligence=block)
