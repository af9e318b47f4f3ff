"""Customer pages: product availability near you (public), and for a signed-in customer their
orders with tracking, points and tier progress, consent preferences and a data export."""

from __future__ import annotations

from fastapi import APIRouter

from omniretail.web.shop import account, products

router = APIRouter()
for part in (products, account):
    router.include_router(part.router)
