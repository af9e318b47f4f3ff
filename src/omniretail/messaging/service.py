"""Use cases: webhook subscriptions, delivery inspection, dead-letter replay."""

from __future__ import annotations

from sqlalchemy.orm import Session

from omniretail.db.uow import UnitOfWork
from omniretail.kernel.ids import new_token
from omniretail.messaging import repository
from omniretail.messaging.errors import DeliveryNotDead, UnknownDelivery, UnknownSubscription
from omniretail.messaging.models import Delivery, DeliveryStatus, WebhookSubscription
from omniretail.messaging.notifications import notification_read
from omniretail.messaging.schemas import (
    DeliveryRead,
    NotificationRead,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)
from omniretail.messaging.webhooks import PREFIX as WEBHOOK_PREFIX
from omniretail.messaging.webhooks import handler_name

# --- webhook subscriptions -----------------------------------------------------------------


def create_subscription(
    uow: UnitOfWork, data: SubscriptionCreate, *, actor: str
) -> SubscriptionCreated:
    subscription = repository.add_subscription(
        uow.session,
        WebhookSubscription(
            url=str(data.url),
            event_types=list(dict.fromkeys(data.event_types)),
            secret=data.secret or f"whsec_{new_token(32)}",
            active=True,
            description=data.description,
            created_at=uow.now,
        ),
    )
    return SubscriptionCreated.model_validate(subscription)


def list_subscriptions(uow: UnitOfWork) -> list[SubscriptionRead]:
    return [SubscriptionRead.model_validate(s) for s in repository.list_subscriptions(uow.session)]


def get_subscription(uow: UnitOfWork, subscription_id: int) -> SubscriptionRead:
    return SubscriptionRead.model_validate(_subscription(uow.session, subscription_id))


def update_subscription(
    uow: UnitOfWork, subscription_id: int, data: SubscriptionUpdate, *, actor: str
) -> SubscriptionRead:
    subscription = _subscription(uow.session, subscription_id)
    if data.active is not None:
        subscription.active = data.active
    if data.event_types is not None:
        subscription.event_types = list(dict.fromkeys(data.event_types))
    if data.description is not None:
        subscription.description = data.description
    uow.session.flush()
    return SubscriptionRead.model_validate(subscription)


def delete_subscription(uow: UnitOfWork, subscription_id: int, *, actor: str) -> None:
    """Its pending deliveries end as skipped; its history stays listable by handler name."""
    if not repository.delete_subscription(uow.session, subscription_id):
        raise UnknownSubscription(f"no webhook subscription {subscription_id}", field="id")


def _subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    subscription = repository.get_subscription(session, subscription_id)
    if subscription is None:
        raise UnknownSubscription(f"no webhook subscription {subscription_id}", field="id")
    return subscription


# --- deliveries and dead letters -----------------------------------------------------------


def list_subscription_deliveries(
    uow: UnitOfWork, subscription_id: int, *, status: DeliveryStatus | None = None, limit: int = 100
) -> list[DeliveryRead]:
    _subscription(uow.session, subscription_id)
    rows = repository.list_deliveries(
        uow.session, handler=handler_name(subscription_id), status=status, limit=limit
    )
    return [_delivery_read(d, t) for d, t in rows]


def list_dead_letters(
    uow: UnitOfWork, *, handler_prefix: str | None = None, limit: int = 100
) -> list[DeliveryRead]:
    """Deliveries that used up their attempts, newest first."""
    rows = repository.list_deliveries(
        uow.session, status=DeliveryStatus.DEAD, handler_prefix=handler_prefix, limit=limit
    )
    return [_delivery_read(d, t) for d, t in rows]


def list_webhook_dead_letters(uow: UnitOfWork, *, limit: int = 100) -> list[DeliveryRead]:
    return list_dead_letters(uow, handler_prefix=WEBHOOK_PREFIX, limit=limit)


def replay_delivery(
    uow: UnitOfWork, delivery_id: int, *, actor: str, handler_prefix: str | None = None
) -> DeliveryRead:
    """Give a dead delivery a fresh set of attempts, due now; the relay picks it up."""
    found = repository.get_delivery(uow.session, delivery_id)
    if found is None or (handler_prefix and not found[0].handler.startswith(handler_prefix)):
        raise UnknownDelivery(f"no delivery {delivery_id}", field="id")
    if not repository.revive_dead_deliveries(uow.session, [delivery_id], uow.now):
        raise DeliveryNotDead(f"delivery {delivery_id} is {found[0].status}, not dead", field="id")
    uow.session.expire_all()
    replayed = repository.get_delivery(uow.session, delivery_id)
    assert replayed is not None
    return _delivery_read(*replayed)


def replay_message(uow: UnitOfWork, message_id: str, *, actor: str) -> list[DeliveryRead]:
    """Replay every dead delivery of one outbox message."""
    rows = repository.list_deliveries(uow.session, message_id=message_id, limit=1000)
    if not rows:
        raise UnknownDelivery(f"no deliveries for event {message_id}", field="id")
    dead = [d.id for d, _ in rows if d.status == DeliveryStatus.DEAD]
    if not dead:
        raise DeliveryNotDead(f"event {message_id} has no dead deliveries", field="id")
    revived = repository.revive_dead_deliveries(uow.session, dead, uow.now)
    uow.session.expire_all()
    return [
        _delivery_read(d, t)
        for d, t in repository.list_deliveries(uow.session, message_id=message_id, limit=1000)
        if d.id in revived
    ]


def _delivery_read(delivery: Delivery, event_type: str) -> DeliveryRead:
    return DeliveryRead(
        id=delivery.id,
        message_id=delivery.message_id,
        event_type=event_type,
        handler=delivery.handler,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        updated_at=delivery.updated_at,
        delivered_at=delivery.delivered_at,
    )


# --- notifications -------------------------------------------------------------------------


def list_notifications(
    uow: UnitOfWork, *, customer_ref: str | None = None, limit: int = 100
) -> list[NotificationRead]:
    return [
        notification_read(uow.vault, n)
        for n in repository.list_notifications(uow.session, customer_ref=customer_ref, limit=limit)
    ]
