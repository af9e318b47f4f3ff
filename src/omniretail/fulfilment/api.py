"""HTTP routes: the fulfilment steps, cancelling, returns and exchanges, return requests, the
pickup sweep;
the tracking page's router (``web.py``) is mounted by the app as ``tracking_router``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from omniretail.api.deps import ActorDep, ContainerDep, ReadDep, UseCaseDep, no_content
from omniretail.api.params import KeyPath
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import (
    CollectBody,
    ExchangeCreate,
    RefundRead,
    RejectBody,
    ReturnCreate,
    ReturnRequestCreate,
    ReturnRequestRead,
    ReturnRequestReceive,
    ShipBody,
    SweepReport,
)
from omniretail.fulfilment.web import router as tracking_router
from omniretail.orders.schemas import CancelBody, OrderRead
from omniretail.orders.service import (
    PaymentProvider,
    compensating,
    payments_dependency,
)
from omniretail.routing.service import OrderPolicy, policy_from

router = APIRouter()


async def get_policy(container: ContainerDep) -> OrderPolicy:
    return policy_from(container.settings)


PolicyDep = Annotated[OrderPolicy, Depends(get_policy)]


PaymentsDep = Annotated[PaymentProvider, Depends(payments_dependency)]


@router.post("/orders/sweep-pickups", response_model=SweepReport, tags=["orders"])
def sweep_pickups(use_case: UseCaseDep, policy: PolicyDep, actor: ActorDep) -> SweepReport:
    """Send due pickup reminders and return uncollected orders to stock (also a CLI task)."""
    return use_case.run(lambda uow: fulfilment.sweep_pickups(uow, policy=policy, actor=actor))


@router.post("/orders/{number}/cancel", response_model=OrderRead, tags=["orders"])
def cancel_order(
    number: KeyPath, body: CancelBody, use_case: UseCaseDep, actor: ActorDep
) -> OrderRead:
    """Cancel the order, some lines or some units of lines before shipment: stock released,
    amount voided (after commit)."""
    return use_case.run(lambda uow: fulfilment.cancel(uow, number, body, actor=actor))


@router.post("/orders/{number}/returns", response_model=OrderRead, tags=["orders"])
def return_items(
    number: KeyPath,
    body: ReturnCreate,
    use_case: UseCaseDep,
    container: ContainerDep,
    actor: ActorDep,
) -> OrderRead:
    """Return items of an order from any channel at any location that accepts returns:
    restocked (sellable) or written off (damaged) there, refunded to the original payment."""
    window = container.settings.return_window_days
    return use_case.run(
        lambda uow: fulfilment.return_items(uow, number, body, window_days=window, actor=actor)
    )


@router.get("/orders/{number}/refunds", response_model=list[RefundRead], tags=["orders"])
def list_refunds(number: KeyPath, uow: ReadDep) -> list[RefundRead]:
    """The order's refunds (returns, and exchanges that cost less), oldest first: the amount,
    per returned line what it was paid and what is refunded with its net, tax and rate, and
    the discounts the kept items no longer qualify for (a broken buy X get Y: kept back)."""
    return fulfilment.refunds_of_order(uow, number)


@router.post("/orders/{number}/exchanges", response_model=OrderRead, tags=["orders"])
def exchange_items(
    number: KeyPath,
    body: ExchangeCreate,
    use_case: UseCaseDep,
    payments: PaymentsDep,
    container: ContainerDep,
    actor: ActorDep,
) -> OrderRead:
    """Return items and hand over others at a store counter; the price difference is charged
    to the original payment method or refunded to it."""
    window = container.settings.return_window_days
    with compensating(payments) as attempt:  # the charge's authorisation, if not committed
        return use_case.run(
            lambda uow: fulfilment.exchange_items(
                uow, number, body, window_days=window, payments=attempt, actor=actor
            )
        )


@router.post(
    "/orders/{number}/return-requests",
    status_code=201,
    response_model=ReturnRequestRead,
    tags=["returns"],
)
def request_return(
    number: KeyPath,
    body: ReturnRequestCreate,
    use_case: UseCaseDep,
    container: ContainerDep,
    actor: ActorDep,
) -> ReturnRequestRead:
    """Start a return (a return authorisation): the lines and units that come back, why, and
    how (``post`` to the returns desk, or ``in_store``). Answers the return code; refunds
    nothing until the items are received."""
    window = container.settings.return_window_days
    return use_case.run(
        lambda uow: fulfilment.request_return(uow, number, body, window_days=window, actor=actor),
        status_code=201,
    )


@router.get(
    "/orders/{number}/return-requests",
    response_model=list[ReturnRequestRead],
    tags=["returns"],
)
def list_return_requests(number: KeyPath, uow: ReadDep) -> list[ReturnRequestRead]:
    return fulfilment.return_requests_of_order(uow, number)


@router.get("/return-requests/{code}", response_model=ReturnRequestRead, tags=["returns"])
def get_return_request(code: KeyPath, uow: ReadDep) -> ReturnRequestRead:
    return fulfilment.get_return_request(uow, code)


@router.post("/return-requests/{code}/cancel", response_model=ReturnRequestRead, tags=["returns"])
def cancel_return_request(
    code: KeyPath, use_case: UseCaseDep, actor: ActorDep
) -> ReturnRequestRead:
    return use_case.run(lambda uow: fulfilment.cancel_return_request(uow, code, actor=actor))


@router.post("/return-requests/{code}/receive", response_model=ReturnRequestRead, tags=["returns"])
def receive_return_request(
    code: KeyPath,
    body: ReturnRequestReceive,
    use_case: UseCaseDep,
    container: ContainerDep,
    actor: ActorDep,
) -> ReturnRequestRead:
    """The request's items were handed in (or their parcel arrived) at ``location``: booked
    as a return there (restocked, or written off when damaged) and refunded."""
    window = container.settings.return_window_days
    return use_case.run(
        lambda uow: fulfilment.receive_return_request(
            uow, code, body, window_days=window, actor=actor
        )
    )


@router.post("/fulfilments/{fid}/accept", response_model=OrderRead, tags=["fulfilments"])
def accept(fid: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    return use_case.run(lambda uow: fulfilment.accept(uow, fid, actor=actor))


@router.post("/fulfilments/{fid}/pick", response_model=OrderRead, tags=["fulfilments"])
def pick(fid: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    return use_case.run(lambda uow: fulfilment.start_picking(uow, fid, actor=actor))


@router.post("/fulfilments/{fid}/pack", response_model=OrderRead, tags=["fulfilments"])
def pack(fid: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    return use_case.run(lambda uow: fulfilment.pack(uow, fid, actor=actor))


@router.post("/fulfilments/{fid}/ship", response_model=OrderRead, tags=["fulfilments"])
def ship(fid: KeyPath, body: ShipBody, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    return use_case.run(lambda uow: fulfilment.ship(uow, fid, body, actor=actor))


@router.post("/fulfilments/{fid}/deliver", response_model=OrderRead, tags=["fulfilments"])
def deliver(fid: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    return use_case.run(lambda uow: fulfilment.deliver(uow, fid, actor=actor))


@router.post("/fulfilments/{fid}/ready", response_model=OrderRead, tags=["fulfilments"])
def ready(fid: KeyPath, use_case: UseCaseDep, policy: PolicyDep, actor: ActorDep) -> OrderRead:
    """Ready for pickup: packed at the store, arrived at the store, or put in the locker."""
    return use_case.run(
        lambda uow: fulfilment.ready_for_pickup(uow, fid, policy=policy, actor=actor)
    )


@router.post(
    "/fulfilments/{fid}/collect",
    response_model=OrderRead,
    tags=["fulfilments"],
    responses={423: {"description": "Too many pickup codes were tried: override with a reason"}},
)
def collect(fid: KeyPath, body: CollectBody, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    """Handover with the pickup code, or an associate override with a reason (logged). A
    code is counted as a try before it is compared, in a transaction of its own (audited,
    kept whatever the code): after 5 tries without the right one the code is refused (423
    ``pickup-code-locked``) and only an override hands the order over."""
    if not body.tries_code:
        return use_case.run(lambda uow: fulfilment.collect(uow, fid, body, actor=actor))
    use_case.run_first(no_content(lambda uow: fulfilment.try_pickup_code(uow, fid)))
    return use_case.run_last(
        lambda uow: fulfilment.collect(uow, fid, body, actor=actor, tried=True)
    )


@router.post("/fulfilments/{fid}/reject", response_model=OrderRead, tags=["fulfilments"])
def reject(
    fid: KeyPath,
    body: RejectBody,
    use_case: UseCaseDep,
    policy: PolicyDep,
    actor: ActorDep,
) -> OrderRead:
    """The location cannot serve: the lines are re-routed elsewhere automatically."""
    return use_case.run(lambda uow: fulfilment.reject(uow, fid, body, policy=policy, actor=actor))


__all__ = ["router", "tracking_router"]
