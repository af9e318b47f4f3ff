"""HTTP routes of the agent's desk (``processes.desk``), under ``/api/v1/support/desk``: the
same functions the console's desk forms call, authorised by ``auth.policy`` (``desk:act``)
and audited by the API's hook like every write."""

from __future__ import annotations

from fastapi import APIRouter

from omniretail.api.deps import ActorDep, ContainerDep, PersonDep, UseCaseDep
from omniretail.api.params import IdPath, KeyPath
from omniretail.fulfilment.schemas import ReturnRequestRead
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import AccountRead
from omniretail.orders.schemas import OrderRead
from omniretail.pricing.schemas import CouponRead
from omniretail.processes import desk
from omniretail.processes.desk import (
    GoodwillCoupon,
    GoodwillPoints,
    LineCancel,
    LineRefund,
    PickupStoreChange,
    ReturnStart,
)

router = APIRouter(prefix=desk.PREFIX, tags=["support"])


@router.post("/fulfilments/{fid}/resend-pickup-code", response_model=OrderRead)
def resend_pickup_code(fid: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    """The pickup code again (the same code) to the customer's contact."""
    return use_case.run(lambda uow: desk.resend_pickup_code(uow, fid, actor=actor))


@router.post("/fulfilments/{fid}/pickup-store", response_model=OrderRead)
def change_pickup_store(
    fid: KeyPath, body: PickupStoreChange, use_case: UseCaseDep, actor: ActorDep
) -> OrderRead:
    """A ship-to-store parcel that has not left yet goes to another store."""
    return use_case.run(lambda uow: desk.change_pickup_store(uow, fid, body, actor=actor))


@router.post("/orders/{number}/cancel-line", response_model=OrderRead)
def cancel_line(
    number: KeyPath, body: LineCancel, use_case: UseCaseDep, actor: ActorDep
) -> OrderRead:
    """Cancels a line (or some of its units) that has not shipped."""
    return use_case.run(lambda uow: desk.cancel_line(uow, number, body, actor=actor))


@router.post("/orders/{number}/return", status_code=201, response_model=ReturnRequestRead)
def start_return(
    number: KeyPath,
    body: ReturnStart,
    use_case: UseCaseDep,
    actor: ActorDep,
    container: ContainerDep,
) -> ReturnRequestRead:
    """A return request for the customer (by post or in store), with its return code."""
    window = container.settings.return_window_days
    return use_case.run(
        lambda uow: desk.start_return(uow, number, body, window_days=window, actor=actor),
        status_code=201,
    )


@router.post("/orders/{number}/refund-line", response_model=OrderRead)
def refund_line(
    number: KeyPath,
    body: LineRefund,
    use_case: UseCaseDep,
    actor: ActorDep,
    container: ContainerDep,
) -> OrderRead:
    """Refunds a line's units that came back at ``location``: stock back there, the ledger,
    the refund to the original payment (a payment instruction carried out after commit)."""
    window = container.settings.return_window_days
    return use_case.run(
        lambda uow: desk.refund_line(uow, number, body, window_days=window, actor=actor)
    )


@router.post("/customers/{customer_id}/goodwill-points", response_model=AccountRead)
def goodwill_points(
    customer_id: IdPath,
    body: GoodwillPoints,
    use_case: UseCaseDep,
    actor: ActorDep,
    person: PersonDep,
    container: ContainerDep,
) -> AccountRead:
    """Counted as goodwill of the day against the person behind the credential and against
    the customer from all staff together (``loyalty.service.Goodwill``, 409 beyond)."""
    goodwill = loyalty.Goodwill.of(person, container.settings)
    return use_case.run(
        lambda uow: desk.goodwill_points(uow, customer_id, body, actor=actor, goodwill=goodwill)
    )


@router.post("/customers/{customer_id}/goodwill-coupon", status_code=201, response_model=CouponRead)
def goodwill_coupon(
    customer_id: IdPath, body: GoodwillCoupon, use_case: UseCaseDep, actor: ActorDep
) -> CouponRead:
    """A single-use coupon of a promotion that only this customer may use."""
    return use_case.run(
        lambda uow: desk.goodwill_coupon(uow, customer_id, body, actor=actor), status_code=201
    )
