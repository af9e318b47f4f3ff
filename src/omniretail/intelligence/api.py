"""HTTP reads of the intelligence results (folded into the customer 360 later)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from omniretail.api.deps import ReadDep
from omniretail.intelligence import service
from omniretail.intelligence.schemas import CustomerScoresRead, ProductIntelligenceRead

router = APIRouter(prefix="/intelligence", tags=["intelligence"])


@router.get("/customers/{customer_id}", response_model=CustomerScoresRead)
def get_customer_scores(
    customer_id: int, uow: ReadDep, k: Annotated[int, Query(ge=1, le=50)] = 10
) -> CustomerScoresRead:
    """Segment, RFM scores, CLV, p_alive and the top-k products to offer (the popular list
    for a customer who withdrew consent to personalisation)."""
    return service.get_customer_scores(uow, customer_id, k)


@router.get("/skus/{code}", response_model=ProductIntelligenceRead)
def get_product_intelligence(code: str, uow: ReadDep) -> ProductIntelligenceRead:
    """Weekly forecast, reorder points per location and "bought together"."""
    return service.get_product_intelligence(uow, code.strip().upper())
