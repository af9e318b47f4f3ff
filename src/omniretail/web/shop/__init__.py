"""Customer pages: product availability near you (public), and for a signed-in customer their
orders with tracking, points and tier progress, consent preferences and a data export."""

from __future__ import annotations

from fastapi import APIRouter

from omniretail.web.shop import account, details, orders, products, signup

router = APIRouter()
for part in (products, signup, account, details, orders):
    router.include_router(part.router)
