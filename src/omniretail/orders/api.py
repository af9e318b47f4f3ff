"""HTTP routes: checkout and the orders (list, one, its log)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from omniretail.api.deps import (
    USE_CASE_HEADERS_DOC,
    ReplicaReadDep,
    get_signed_in_customer,
    in_payment_thread,
    use_case_and_actor,
)
from omniretail.api.params import KeyPath
from omniretail.kernel.limits import MAX_INT64
from omniretail.orders import checkout, lookup
from omniretail.orders.payments import payments_of
from omniretail.orders.schemas import CheckoutCreate, LogEntryRead, OrderRead
from omniretail.routing.service import policy_from

router = APIRouter()


@router.post(
    "/carts/{token}/checkout",
    status_code=201,
    response_model=OrderRead,
    tags=["carts"],
    responses={402: {"description": "The payment was declined"}},
    openapi_extra=USE_CASE_HEADERS_DOC,
)
async def checkout_cart(request: Request, token: KeyPath, body: CheckoutCreate) -> Response:
    """The cart becomes an order; send an Idempotency-Key to retry safely. The card is
    authorised between two transactions (no stock held locked while the provider answers); a
    decline gives the stock back and answers 402. A signed-in customer's order mails go to
    their own verified email: ``contact_email`` may name it or be left out."""
    # A hot route: it builds its runner, provider and policy itself (no dependency to solve).
    use_case, actor = await use_case_and_actor(request)
    signed_in = await get_signed_in_customer(request)
    payments = payments_of(request)
    settings = request.app.state.container.settings
    policy = policy_from(settings)
    ttl = timedelta(seconds=settings.payment_attempt_ttl_seconds)
    order = await in_payment_thread(
        request,
        lambda: checkout.checkout_paid(
            token,
            body,
            begin=use_case.run_first,
            settle=use_case.run_plain,
            finish=lambda fn: use_case.run_last(fn, status_code=201),
            payments=payments,
            policy=policy,
            actor=actor,
            ttl=ttl,
            contact_of=signed_in,
        ),
    )
    return use_case.respond(order, 201)


@router.get("/orders", response_model=list[OrderRead], tags=["orders"])
def list_orders(
    uow: ReplicaReadDep,
    customer_id: Annotated[int, Query(gt=0, le=MAX_INT64)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[OrderRead]:
    return lookup.list_orders(uow, customer_id, limit)


@router.get("/orders/{number}", response_model=OrderRead, tags=["orders"])
def get_order(number: KeyPath, uow: ReplicaReadDep) -> OrderRead:
    return lookup.get_order(uow, number)


@router.get("/orders/{number}/log", response_model=list[LogEntryRead], tags=["orders"])
def order_log(number: KeyPath, uow: ReplicaReadDep) -> list[LogEntryRead]:
    """Every fulfilment change and handover override: who, when, why."""
    return lookup.order_log(uow, number)
