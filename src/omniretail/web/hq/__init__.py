"""The HQ console (``/hq``): dashboard, inventory grid and ledger, transfers, orders, routing
rules with the simulator, pricing (price lists, taxes, promotions, coupons), customer 360
with merges and search, the loyalty programme, segments, journeys (an editor drawn as a
graph), replenishment, markdown review, dynamic pricing, the message log, marketing
messages with previews per channel, the send policy, send log and suppressions, journey
results; the customer service desk (queue, conversations, the customer beside them and
the desk's actions); administration
(users and roles, the network, API keys, the audit log) and the public page where a new
user sets their password."""

from __future__ import annotations

from fastapi import APIRouter

from omniretail.web.hq import (
    admin,
    customers,
    dashboard,
    desk,
    desk_conversations,
    dynamic_pricing,
    inventory,
    journey_results,
    journeys,
    loyalty,
    markdowns,
    marketing_messages,
    marketing_sending,
    messages,
    network,
    orders,
    people,
    planning,
    pricing,
    pricing_coupons,
    pricing_fees,
    pricing_promotions,
    routing,
    segments,
)

router = APIRouter()
for part in (
    dashboard,
    inventory,
    orders,
    routing,
    customers,
    desk,
    desk_conversations,
    loyalty,
    planning,
    markdowns,
    dynamic_pricing,
    messages,
    segments,
    journeys,
    marketing_messages,
    marketing_sending,
    journey_results,
):
    router.include_router(part.router)
# The fixed paths (``/promotions/new``, ``/coupons/batches/...``) before the ones with codes.
for part in (pricing_promotions, pricing_coupons, pricing_fees, pricing):
    router.include_router(part.router)
for part in (admin, people, network):
    router.include_router(part.router)
router.include_router(people.public)
