"""HTTP routes for webhook subscriptions, their deliveries and dead letters (the relay's state
of the ``webhook:<id>`` handlers), and the message log (``messages_router``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from omniretail.api.deps import ActorDep, ContainerDep, ReadDep, UseCaseDep, no_content
from omniretail.api.params import IdPath
from omniretail.messaging.models import DeliveryStatus
from omniretail.messaging.schemas import DeliveryRead
from omniretail.notifications import service
from omniretail.notifications.schemas import (
    MessagePage,
    MessageQuery,
    MessageRead,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
messages_router = APIRouter(prefix="/notifications/messages", tags=["notifications"])
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post("", status_code=201, response_model=SubscriptionCreated)
def create_subscription(
    body: SubscriptionCreate, use_case: UseCaseDep, actor: ActorDep, container: ContainerDep
) -> SubscriptionCreated:
    """Subscribe a URL to event types. The response carries the signing secret, only here.
    The URL must resolve to public addresses (422 ``unsafe-webhook-target`` otherwise) unless
    ``webhook_allow_private_networks`` is set."""
    allow = container.settings.webhook_allow_private_networks
    return use_case.run(
        lambda uow: service.create_subscription(
            uow, body, actor=actor, allow_private_networks=allow
        ),
        status_code=201,
    )


@router.get("", response_model=list[SubscriptionRead])
def list_subscriptions(uow: ReadDep) -> list[SubscriptionRead]:
    return service.list_subscriptions(uow)


@router.get("/dead-letters", response_model=list[DeliveryRead])
def list_dead_letters(uow: ReadDep, limit: Limit = 100) -> list[DeliveryRead]:
    """Webhook deliveries that used up their attempts, newest first."""
    return service.list_webhook_dead_letters(uow, limit=limit)


@router.post("/deliveries/{delivery_id}/replay", response_model=DeliveryRead)
def replay_delivery(delivery_id: IdPath, use_case: UseCaseDep, actor: ActorDep) -> DeliveryRead:
    """Retry a dead webhook delivery now, with a fresh set of attempts."""
    return use_case.run(lambda uow: service.replay_webhook_delivery(uow, delivery_id, actor=actor))


@router.get("/{subscription_id}", response_model=SubscriptionRead)
def get_subscription(subscription_id: IdPath, uow: ReadDep) -> SubscriptionRead:
    return service.get_subscription(uow, subscription_id)


@router.patch("/{subscription_id}", response_model=SubscriptionRead)
def update_subscription(
    subscription_id: IdPath, body: SubscriptionUpdate, use_case: UseCaseDep, actor: ActorDep
) -> SubscriptionRead:
    """Pause (``active: false``) or change the event types; pending deliveries of a paused
    subscription are skipped."""
    return use_case.run(
        lambda uow: service.update_subscription(uow, subscription_id, body, actor=actor)
    )


@router.delete("/{subscription_id}", status_code=204)
def delete_subscription(subscription_id: IdPath, use_case: UseCaseDep, actor: ActorDep) -> Response:
    """Stop sending to it; its pending deliveries end as skipped."""
    use_case.run(
        no_content(lambda uow: service.delete_subscription(uow, subscription_id, actor=actor)),
        status_code=204,
        remember=False,  # no body to replay; deleting again answers 404
    )
    return Response(status_code=204)


@router.get("/{subscription_id}/deliveries", response_model=list[DeliveryRead])
def list_deliveries(
    subscription_id: IdPath,
    uow: ReadDep,
    status: DeliveryStatus | None = None,
    limit: Limit = 100,
) -> list[DeliveryRead]:
    return service.list_subscription_deliveries(uow, subscription_id, status=status, limit=limit)


@messages_router.get("", response_model=MessagePage)
def list_messages(uow: ReadDep, query: Annotated[MessageQuery, Query()]) -> MessagePage:
    """The message log, newest first: every notification recorded (email, SMS, push) with its
    recipient and text in clear, its delivery state and the event and order behind it."""
    return service.list_messages(uow, query)


@messages_router.get("/{message_id}", response_model=MessageRead)
def get_message(message_id: IdPath, uow: ReadDep) -> MessageRead:
    return service.get_message(uow, message_id)
