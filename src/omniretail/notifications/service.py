"""Use cases: webhook subscriptions and their deliveries, customer notifications.

``notify`` is how a domain sends a customer a message: it records one from the domain's relay
handler and the relay sends it. A domain reacts to its own event in a relay handler and calls::

    notify(uow, "shipped", "email", customer_email, context, source_event_id=meta.id,
           customer_ref=str(customer_id))

inside the handler's unit of work. The notification is rendered and stored in that
transaction, together with a ``NotificationQueued`` outbox event; the relay's
``messaging.send_notification`` handler sends it after commit. A redelivered source event finds
the stored notification (unique on source event, channel and kind) and queues nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from sqlalchemy.orm import Session

from omniretail.db.outbox import OutboxMessage, events_by_id
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import InvalidRequest
from omniretail.kernel.ids import new_token
from omniretail.kernel.limits import one_mailbox
from omniretail.kernel.vault import PiiVault
from omniretail.messaging import service as deliveries
from omniretail.messaging.models import DeliveryStatus
from omniretail.messaging.schemas import DeliveryRead
from omniretail.notifications import repository, targets
from omniretail.notifications.errors import (
    UnknownNotification,
    UnknownSubscription,
    UnsafeWebhookTarget,
)
from omniretail.notifications.events import SEND_HANDLER, SUBJECT_PREFIX, NotificationQueued
from omniretail.notifications.models import (
    SECRET_FIELD,
    Channel,
    Notification,
    NotificationStatus,
    WebhookSubscription,
)
from omniretail.notifications.rendering import KINDS as RENDERED_KINDS
from omniretail.notifications.rendering import mask, render
from omniretail.notifications.schemas import (
    MessagePage,
    MessageQuery,
    MessageRead,
    MessageState,
    NotificationRead,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)
from omniretail.notifications.webhooks import PREFIX as WEBHOOK_PREFIX
from omniretail.notifications.webhooks import handler_name

# --- webhook subscriptions -----------------------------------------------------------------


def create_subscription(
    uow: UnitOfWork,
    data: SubscriptionCreate,
    *,
    actor: str,
    allow_private_networks: bool = False,
    resolver: targets.Resolver = targets.resolve,
) -> SubscriptionCreated:
    """The URL must be http(s) and resolve to public addresses only (``targets``), unless
    private networks are allowed."""
    try:
        targets.check_url(str(data.url), allow_private=allow_private_networks, resolver=resolver)
    except targets.UnsafeTarget as exc:
        raise UnsafeWebhookTarget(f"webhooks may not go to this URL: {exc}", field="url") from None
    secret = data.secret or f"whsec_{new_token(32)}"
    subscription = repository.add_subscription(
        uow.session,
        WebhookSubscription(
            url=str(data.url),
            event_types=list(dict.fromkeys(data.event_types)),
            secret_enc=uow.vault.encrypt(SECRET_FIELD, secret),
            active=True,
            description=data.description,
            created_at=uow.now,
        ),
    )
    shown = SubscriptionRead.model_validate(subscription).model_dump()
    return SubscriptionCreated(**shown, secret=secret)


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


# --- webhook deliveries and dead letters (the relay's state, seen per subscription) ---------


def list_subscription_deliveries(
    uow: UnitOfWork, subscription_id: int, *, status: DeliveryStatus | None = None, limit: int = 100
) -> list[DeliveryRead]:
    _subscription(uow.session, subscription_id)
    return deliveries.list_deliveries(
        uow, handler=handler_name(subscription_id), status=status, limit=limit
    )


def list_webhook_dead_letters(uow: UnitOfWork, *, limit: int = 100) -> list[DeliveryRead]:
    return deliveries.list_dead_letters(uow, handler_prefix=WEBHOOK_PREFIX, limit=limit)


def replay_webhook_delivery(uow: UnitOfWork, delivery_id: int, *, actor: str) -> DeliveryRead:
    """A dead webhook delivery gets a fresh set of attempts (another handler's is unknown here)."""
    return deliveries.replay_delivery(uow, delivery_id, actor=actor, handler_prefix=WEBHOOK_PREFIX)


# --- notifications -------------------------------------------------------------------------


def notify(
    uow: UnitOfWork,
    kind: str,
    channel: Channel | str,
    recipient: str,
    context: dict[str, Any],
    source_event_id: str,
    *,
    customer_ref: str | None = None,
) -> NotificationRead:
    """Record a notification and queue its send; at most one per (source event, channel, kind).

    Raises ``UnknownNotificationKind`` or ``NotificationContextIncomplete`` (a ``DomainError``)
    when it cannot be rendered, before anything is written."""
    channel = _channel(channel)
    recipient = _recipient(channel, recipient)
    existing = repository.get_notification_by_source(
        uow.session, source_event_id, channel.value, kind
    )
    if existing is not None:
        return notification_read(uow.vault, existing)
    rendered = render(kind, channel, context)
    row = _queued_row(
        uow,
        channel,
        kind,
        recipient,
        rendered.subject,
        rendered.body,
        rendered.html,
        source_event_id,
        customer_ref,
    )
    notification_id = repository.add_notification_if_new(uow.session, _sealed(uow.vault, row))
    if notification_id is None:  # a concurrent delivery of the same event stored it first
        stored = repository.get_notification_by_source(
            uow.session, source_event_id, channel.value, kind
        )
        assert stored is not None
        return notification_read(uow.vault, stored)
    uow.record(
        NotificationQueued(notification_id=notification_id, channel=channel.value, kind=kind)
    )
    read = NotificationRead(id=notification_id, **row)
    return read.model_copy(update={c: mask(getattr(read, c)) for c in SEALED})


@dataclass(frozen=True, kw_only=True)
class Notice:
    """One ``notify`` of ``notify_many``."""

    kind: str
    channel: Channel | str
    recipient: str
    context: dict[str, Any]
    source_event_id: str
    customer_ref: str | None = None


def _queued_row(
    uow: UnitOfWork,
    channel: Channel,
    kind: str,
    recipient: str,
    subject: str | None,
    body: str,
    html_body: str | None,
    source_event_id: str,
    customer_ref: str | None,
) -> dict[str, Any]:
    """A notification row as stored when it is queued (before ``_sealed``)."""
    return {
        "customer_ref": customer_ref,
        "channel": channel.value,
        "kind": kind,
        "recipient": recipient,
        "subject": subject,
        "body": body,
        "html_body": html_body,
        "status": NotificationStatus.QUEUED.value,
        "created_at": uow.now,
        "sent_at": None,
        "source_event_id": source_event_id,
    }


def _recipient(channel: Channel, given: str) -> str:
    """``given`` stripped; refused unless it is one recipient of ``channel`` (an email: one
    mailbox)."""
    recipient = given.strip()
    # Not the value itself in the message: it may end up in a delivery's last_error.
    if not recipient or (channel is Channel.EMAIL and not one_mailbox(recipient)):
        raise InvalidRequest(f"the recipient is not a {channel.value} recipient", field="recipient")
    return recipient


def notify_many(uow: UnitOfWork, notices: Sequence[Notice]) -> int:
    """``notify`` for many (a relay batch): rendered, then stored in one statement, those
    already stored (a redelivered source event) left as they are; returns how many were
    queued. Raises as ``notify`` does, before anything is written."""
    rows: list[dict[str, Any]] = []
    for notice in notices:
        channel = _channel(notice.channel)
        recipient = _recipient(channel, notice.recipient)
        rendered = render(notice.kind, channel, notice.context)
        row = _queued_row(
            uow,
            channel,
            notice.kind,
            recipient,
            rendered.subject,
            rendered.body,
            rendered.html,
            notice.source_event_id,
            notice.customer_ref,
        )
        rows.append(_sealed(uow.vault, row))
    added = repository.add_notifications_if_new(uow.session, rows) if rows else []
    for row, notification_id in added:
        uow.record(
            NotificationQueued(
                notification_id=notification_id, channel=str(row["channel"]), kind=str(row["kind"])
            )
        )
    return len(added)


@dataclass(frozen=True, kw_only=True)
class Rendered:
    """A message another domain rendered itself (``notify_rendered``)."""

    channel: str
    recipient: str
    subject: str | None
    body: str
    html_body: str | None
    source_key: str  # unique per message of the caller (marketing: the send key)
    kind: str = "marketing"
    customer_ref: str | None = None


def source_id(source_key: str) -> str:
    """The stored source of a rendered message: a stable UUID of its key."""
    return str(uuid5(NAMESPACE_URL, f"omniretail:{source_key}"))


def notify_rendered(uow: UnitOfWork, items: Sequence[Rendered]) -> dict[str, int]:
    """Store already-rendered notifications and queue their sends (the relay sends them like
    ``notify``'s); at most one per source key. Returns the notification id of each key."""
    rows: list[dict[str, Any]] = []
    keys: dict[Any, str] = {}
    vault = uow.vault
    for item in items:
        channel = _channel(item.channel)
        recipient = _recipient(channel, item.recipient)
        source = source_id(item.source_key)
        keys[source] = item.source_key
        row = _queued_row(
            uow,
            channel,
            item.kind,
            recipient,
            item.subject,
            item.body,
            item.html_body,
            source,
            item.customer_ref,
        )
        rows.append(_sealed(vault, row))
    ids: dict[str, int] = {}
    for row, notification_id in repository.add_notifications_if_new(uow.session, rows):
        ids[keys[row["source_event_id"]]] = notification_id
        uow.record(
            NotificationQueued(
                notification_id=notification_id, channel=str(row["channel"]), kind=str(row["kind"])
            )
        )
    missing = [sid for sid, key in keys.items() if key not in ids]
    for sid, notification_id in repository.notification_ids_by_source(uow.session, missing):
        ids[keys[sid]] = notification_id
    return ids


# The columns that hold the person's data (recipient, and names, addresses and pickup codes
# in the rendered text): vault ciphertext at rest (db.encrypted), decrypted to send. A pickup
# code in them is marked (``rendering.SECRETS``): the send reveals it, every read here masks it.
SEALED = ("recipient", "subject", "body", "html_body")


def _sealed(vault: PiiVault, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, **{c: vault.encrypt(f"notification_{c}", row[c]) for c in SEALED}}


def notification_read(vault: PiiVault, stored: Any) -> NotificationRead:
    """The notification as staff read it (API, message log): decrypted, its pickup code
    masked (``rendering.mask``); only the send (``handlers``) reveals it."""
    read = NotificationRead.model_validate(stored)
    return read.model_copy(
        update={c: mask(vault.decrypt(f"notification_{c}", getattr(read, c))) for c in SEALED}
    )


def forget_recipient(uow: UnitOfWork, customer_refs: Sequence[str]) -> int:
    """Erasure: deletes the notifications recorded for these customers (``customer_ref``);
    a queued send of one of them then ends as skipped. Returns how many went."""
    return repository.delete_notifications_of(uow.session, customer_refs)


def list_notifications(
    uow: UnitOfWork, *, customer_ref: str | None = None, limit: int = 100
) -> list[NotificationRead]:
    return [
        notification_read(uow.vault, n)
        for n in repository.list_notifications(uow.session, customer_ref=customer_ref, limit=limit)
    ]


# --- the message log -----------------------------------------------------------------------
# Every notification recorded, decrypted for display, with its delivery state and why it was
# sent. The state is the relay's: a notification's send is the delivery of its
# NotificationQueued event (subject notifications/<id>) to SEND_HANDLER. It is "sent" once the
# notification is marked sent, "retrying" while that delivery is pending after a failed
# attempt, "failed" once the relay gave up (a dead letter: `omniretail events replay` revives
# it), and "queued" before. Why: the kind, the event that caused it (read from the outbox by
# its id) and the order that event is about (an orders/<number> subject).

ORDER_SUBJECT = "orders/"
# The kinds there are templates for (what the log can be filtered by).
KINDS: tuple[str, ...] = RENDERED_KINDS


def list_messages(uow: UnitOfWork, query: MessageQuery) -> MessagePage:
    """A page of the log, newest first, with the filters of ``query``."""
    failed = deliveries.subject_ids(
        handler=SEND_HANDLER, prefix=SUBJECT_PREFIX, statuses=[DeliveryStatus.DEAD]
    )
    retrying = deliveries.subject_ids(
        handler=SEND_HANDLER,
        prefix=SUBJECT_PREFIX,
        statuses=[DeliveryStatus.PENDING, DeliveryStatus.SENDING],
        failing=True,
    )
    state = query.state
    queued, sent = NotificationStatus.QUEUED.value, NotificationStatus.SENT.value
    status = None if state is None else sent if state is MessageState.SENT else queued
    among = {MessageState.FAILED: failed, MessageState.RETRYING: retrying}.get(
        state or MessageState.SENT
    )
    rows = repository.find_notifications(
        uow.session,
        channel=query.channel.value if query.channel else None,
        kind=query.kind.strip() or None if query.kind else None,
        customer_ref=str(query.customer_id) if query.customer_id else None,
        status=status,
        since=query.since,
        until=query.until,
        among=among,
        not_among=[failed, retrying] if state is MessageState.QUEUED else [],
        offset=query.offset,
        limit=query.limit + 1,
    )
    items = _messages(uow, rows[: query.limit])
    return MessagePage(
        items=items, offset=query.offset, limit=query.limit, more=len(rows) > query.limit
    )


def get_message(uow: UnitOfWork, message_id: int) -> MessageRead:
    row = repository.get_notification(uow.session, message_id)
    if row is None:
        raise UnknownNotification(f"no message {message_id}", field="id")
    (message,) = _messages(uow, [row])
    return message


def _messages(uow: UnitOfWork, rows: list[Notification]) -> list[MessageRead]:
    sends = deliveries.deliveries_by_subject(
        uow, handler=SEND_HANDLER, subjects=[f"{SUBJECT_PREFIX}{r.id}" for r in rows]
    )
    sources = events_by_id(uow.session, [r.source_event_id for r in rows])
    return [
        _message(uow, row, sends.get(f"{SUBJECT_PREFIX}{row.id}"), sources.get(row.source_event_id))
        for row in rows
    ]


def _message(
    uow: UnitOfWork, row: Notification, send: DeliveryRead | None, source: OutboxMessage | None
) -> MessageRead:
    read = notification_read(uow.vault, row)
    order = (
        source.subject.removeprefix(ORDER_SUBJECT)
        if source is not None and source.subject.startswith(ORDER_SUBJECT)
        else None
    )
    return MessageRead(
        id=read.id,
        customer_id=int(ref) if (ref := read.customer_ref) and ref.isdigit() else None,
        channel=read.channel,
        kind=read.kind,
        recipient=read.recipient,
        subject=read.subject,
        body=read.body,
        html_body=read.html_body,
        length=len(read.body.rstrip("\n")),
        state=_state(read.status, send),
        created_at=read.created_at,
        sent_at=read.sent_at,
        attempts=send.attempts if send else 0,
        last_error=send.last_error if send else None,
        next_attempt_at=send.next_attempt_at
        if send and send.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
        else None,
        source_event_id=read.source_event_id,
        source_event_type=source.type if source is not None else None,
        order_number=order,
    )


def _state(status: str, send: DeliveryRead | None) -> MessageState:
    if status == NotificationStatus.SENT:
        return MessageState.SENT
    if send is None:
        return MessageState.QUEUED
    if send.status == DeliveryStatus.DEAD:
        return MessageState.FAILED
    if send.last_error and send.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        return MessageState.RETRYING
    return MessageState.QUEUED


def _channel(channel: Channel | str) -> Channel:
    try:
        return Channel(channel)
    except ValueError:
        known = ", ".join(c.value for c in Channel)
        raise InvalidRequest(f"no channel {channel!r}; known: {known}", field="channel") from None
