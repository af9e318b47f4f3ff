"""Customer pages: products and their availability near you (public), the basket and checkout,
and for a signed-in customer their orders with tracking and returns, points and tier
progress, consent preferences and a data export."""

from __future__ import annotations

from fastapi import APIRouter

from omniretail.web.shop import (
    account,
    alerts,
    cart,
    chat,
    checkout,
    details,
    orders,
    products,
    returns,
    signup,
)

router = APIRouter()
for part in (products, alerts, cart, chat, checkout, signup, account, details, orders, returns):
    router.include_router(part.router)
