"""The HQ console (``/hq``): dashboard, inventory grid and ledger, transfers, orders, routing
rules with the simulator, customer 360 with merges and search, the loyalty programme,
replenishment, dynamic pricing, the message log; administration (users and roles, the network,
API keys, the audit log) and the public page where a new user sets their password."""

from __future__ import annotations

from fastapi import APIRouter

from omniretail.web.hq import (
    admin,
    customers,
    dashboard,
    dynamic_pricing,
    inventory,
    loyalty,
    messages,
    network,
    orders,
    people,
    planning,
    routing,
)

router = APIRouter()
for part in (
    dashboard,
    inventory,
    orders,
    routing,
    customers,
    loyalty,
    planning,
    dynamic_pricing,
    messages,
):
    router.include_router(part.router)
for part in (admin, people, network):
    router.include_router(part.router)
router.include_router(people.public)
