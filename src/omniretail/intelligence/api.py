"""HTTP reads of the intelligence results. The customer 360 and the SKU and product reads
embed the same blocks (composed above the domains: ``processes/customer360.py``,
``processes/products.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from omniretail.api.deps import ReplicaReadDep
from omniretail.api.params import IdPath, KeyPath
from omniretail.intelligence import service
from omniretail.intelligence.dynamic_pricing_api import router as dynamic_pricing_router
from omniretail.intelligence.schemas import CustomerIntelligence, ProductIntelligenceRead

router = APIRouter(prefix="/intelligence", tags=["intelligence"])
__all__ = ["dynamic_pricing_router", "router"]  # app.py mounts both


@router.get("/customers/{customer_id}", response_model=CustomerIntelligence)
def get_customer_scores(
    customer_id: IdPath, uow: ReplicaReadDep, k: Annotated[int, Query(ge=1, le=50)] = 10
) -> CustomerIntelligence:
    """Segment, RFM scores, CLV, p_alive and the top-k products to offer (the popular list,
    flagged, for a customer who withdrew consent to personalisation)."""
    return service.customer_intelligence(uow, customer_id, k)


@router.get("/skus/{code}", response_model=ProductIntelligenceRead)
def get_product_intelligence(code: KeyPath, uow: ReplicaReadDep) -> ProductIntelligenceRead:
    """Weekly forecast, reorder points per location and "bought together"."""
    return service.get_product_intelligence(uow, code.strip().upper())


# The markdown routes (``/markdowns``), mounted by the app beside this router.
from omniretail.intelligence.markdown_api import router as markdowns_router  # noqa: E402

__all__ = ["markdowns_router", "router"]
