"""The store associate app (phone first): the store's work for today, each fulfilment's steps
and the handover with the pickup code, order look-up and returns (BORIS, or by the customer's
return code), "find it elsewhere" with ordering into the customer's cart, loyalty look-up with
redemption, deliveries to receive, and the till (a walk-in sale: scan, find the customer,
points, card or cash, receipt).

An associate sees and changes only their own store's work (the store on their sign-in); an
administrator picks a store first."""

from __future__ import annotations

from fastapi import APIRouter

from omniretail.web.store import (
    counter,
    loyalty,
    return_requests,
    returns,
    till,
    till_sale,
    today,
    transfers,
)

router = APIRouter()
for part in (today, returns, return_requests, counter, loyalty, till_sale, till):
    router.include_router(part.router)
router.include_router(transfers.router)
