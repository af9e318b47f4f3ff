"""The store associate app (phone first): the store's work for today, each fulfilment's steps
and the handover with the pickup code, order look-up and returns (BORIS, or by the customer's
return code), "find it elsewhere" with ordering into the customer's cart, and loyalty look-up
with redemption.

An associate sees and changes only their own store's work (the store on their sign-in); an
administrator picks a store first."""

from __future__ import annotations

from fastapi import APIRouter

from omniretail.web.store import counter, loyalty, return_requests, returns, today

router = APIRouter()
for part in (today, returns, return_requests, counter, loyalty):
    router.include_router(part.router)
