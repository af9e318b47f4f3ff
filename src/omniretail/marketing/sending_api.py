"""HTTP routes of sending: the policy, suppressions, the sends and customers' cards."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from omniretail.api.deps import ReadDep, UseCaseDep, no_content
from omniretail.kernel.limits import Timestamp
from omniretail.marketing import sending, sending_cards, sending_policy
from omniretail.marketing.errors import NotACustomer
from omniretail.marketing.schemas import (
    CardRead,
    SendPolicy,
    SendRead,
    SendStatus,
    SuppressionChannel,
    SuppressionRead,
    SuppressionWrite,
)

router = APIRouter(prefix="/marketing", tags=["marketing sending"])
MAX_INT64 = 2**63 - 1
CustomerId = Annotated[int, Path(ge=1, le=MAX_INT64)]
CardId = Annotated[int, Path(ge=1, le=MAX_INT64)]


@router.get("/policy", response_model=SendPolicy)
def get_policy(uow: ReadDep) -> SendPolicy:
    return sending_policy.get_policy(uow)


@router.put("/policy", response_model=SendPolicy)
def put_policy(body: SendPolicy, use_case: UseCaseDep) -> SendPolicy:
    return use_case.run(lambda uow: sending_policy.put_policy(uow, body))


@router.get("/suppressions", response_model=list[SuppressionRead])
def list_suppressions(
    uow: ReadDep,
    customer_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SuppressionRead]:
    return sending_policy.list_suppressions(
        uow, customer_id=customer_id, offset=offset, limit=limit
    )


@router.post("/suppressions", status_code=201, response_model=SuppressionRead)
def suppress(body: SuppressionWrite, use_case: UseCaseDep) -> SuppressionRead:
    return use_case.run(lambda uow: sending_policy.suppress(uow, body), status_code=201)


@router.delete("/suppressions/{customer_id}/{channel}", status_code=204, response_class=Response)
def unsuppress(
    customer_id: CustomerId, channel: SuppressionChannel, use_case: UseCaseDep
) -> Response:
    use_case.run(no_content(lambda uow: sending_policy.unsuppress(uow, customer_id, channel)))
    return Response(status_code=204)


@router.get("/sends", response_model=list[SendRead])
def list_sends(
    uow: ReadDep,
    customer_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    status: SendStatus | None = None,
    reason: Annotated[str | None, Query(max_length=40)] = None,
    journey_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    message: Annotated[str | None, Query(max_length=60)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SendRead]:
    return sending.list_sends(
        uow,
        customer_id=customer_id,
        status=status,
        reason=reason,
        journey_id=journey_id,
        message=message,
        channel=channel,
        since=since,
        until=until,
        offset=offset,
        limit=limit,
    )


@router.get("/customers/{customer_id}/cards", response_model=list[CardRead])
def customer_cards(
    customer_id: CustomerId,
    uow: ReadDep,
    placement: Literal["inbox", "store", "receipt"] = "store",
) -> list[CardRead]:
    """The cards of a customer an associate has identified (the in-store card)."""
    return sending_cards.cards(uow, customer_id, placement)


@router.post("/customers/{customer_id}/cards/{card_id}/dismiss", response_model=CardRead)
def dismiss_card(customer_id: CustomerId, card_id: CardId, use_case: UseCaseDep) -> CardRead:
    return use_case.run(lambda uow: sending_cards.dismiss(uow, customer_id, card_id))


# --- the app inbox of the signed-in customer


def _me(request: Request) -> int:
    customer_id = getattr(getattr(request.state, "principal", None), "customer_id", None)
    if not isinstance(customer_id, int):
        raise NotACustomer("sign in as a customer to read the inbox")
    return customer_id


@router.get("/inbox", response_model=list[CardRead])
def inbox(request: Request, uow: ReadDep) -> list[CardRead]:
    return sending_cards.cards(uow, _me(request), "inbox")


@router.post("/inbox/{card_id}/seen", response_model=CardRead)
def inbox_seen(card_id: CardId, request: Request, use_case: UseCaseDep) -> CardRead:
    me = _me(request)
    return use_case.run(lambda uow: sending_cards.mark_seen(uow, me, card_id))


@router.post("/inbox/{card_id}/dismiss", response_model=CardRead)
def inbox_dismiss(card_id: CardId, request: Request, use_case: UseCaseDep) -> CardRead:
    me = _me(request)
    return use_case.run(lambda uow: sending_cards.dismiss(uow, me, card_id))
