"""The HQ console (``/hq``): dashboard, inventory grid and ledger, transfers, orders, routing
rules with the simulator, customer 360 with merges, the loyalty programme, replenishment, the
message log."""

from __future__ import annotations

from fastapi import APIRouter

from omniretail.web.hq import (
    customers,
    dashboard,
    inventory,
    loyalty,
    messages,
    orders,
    planning,
    routing,
)

router = APIRouter()
for part in (dashboard, inventory, orders, routing, customers, loyalty, planning, messages):
    router.include_router(part.router)
