"""The timeline: behavioural events (batched ingest), orders and returns projected from the
orders domain, support contacts and messages sent; anonymous sessions stitched on login.

Profiling needs consent: behaviour is linked to a customer only with an ``analytics`` grant;
otherwise it is kept without any id (it still counts towards demand)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from omniretail.customers import repository as repo
from omniretail.customers.errors import UnknownCustomerInBatch
from omniretail.customers.events import AppInstalled, MessageRequested, SessionStitched
from omniretail.customers.models import ActivityKind, ConsentPurpose
from omniretail.customers.schemas import (
    ActivityRead,
    ContactCreate,
    EventBatch,
    IngestResult,
    MarketingMessage,
    MessageResult,
    OrderActivity,
    StitchResult,
)
from omniretail.customers.service.clusters import cluster, require_root, resolve_id
from omniretail.customers.service.consents import has_consent
from omniretail.db.uow import UnitOfWork

ANALYTICS = ConsentPurpose.ANALYTICS.value
APP_INSTALL = ActivityKind.APP_INSTALL.value


def ingest_events(uow: UnitOfWork, batch: EventBatch, *, actor: str) -> IngestResult:
    """One batch (up to 1,000 events) in a handful of statements, whatever its size: the
    anonymous ids already identified together with the analytics consent of the named and the
    linked customers (one statement), the client event ids already seen (only if the batch
    has any), and one INSERT of all rows, passed column by column."""
    session = uow.session
    events = batch.events
    named = {e.customer_id for e in events if e.customer_id is not None}
    anonymous_only = sorted(
        {e.anonymous_id for e in events if e.customer_id is None and e.anonymous_id}
    )
    linked, allowed = repo.batch_owners(session, named, anonymous_only, ANALYTICS, ["all"])
    unknown = named - allowed.keys()
    if unknown:
        raise UnknownCustomerInBatch(
            f"unknown customer ids: {sorted(unknown)[:10]}; nothing was stored",
            field="events.customer_id",
        )
    keys = [f"event:{e.event_id}" for e in events if e.event_id]
    seen = repo.existing_source_keys(session, keys) if keys else set()
    owners: list[int | None] = []
    anonymous_ids: list[str | None] = []
    kinds: list[str] = []
    channels: list[str | None] = []
    times: list[datetime] = []
    source_keys: list[str | None] = []
    data: list[dict[str, Any]] = []
    identified = anonymous = unlinked = duplicates = 0
    newly_identified: dict[str, int] = {}
    app_installs: set[int] = set()
    for e in events:
        key = f"event:{e.event_id}" if e.event_id else None
        if key is not None:
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
        anon = e.anonymous_id
        owner = e.customer_id if e.customer_id is not None else linked.get(anon or "")
        if owner is None:
            anonymous += 1
        elif not allowed.get(owner, False):
            owner, anon = None, None
            unlinked += 1
        else:
            identified += 1
            if e.customer_id is not None and anon and anon not in linked:
                newly_identified[anon] = owner
            if e.type == APP_INSTALL:
                app_installs.add(owner)
        owners.append(owner)
        anonymous_ids.append(anon)
        kinds.append(e.type)
        channels.append(e.channel)
        times.append(e.occurred_at)
        source_keys.append(key)
        data.append(e.data)
    repo.insert_behaviour(
        session,
        customer_id=owners,
        anonymous_id=anonymous_ids,
        kind=kinds,
        channel=channels,
        occurred_at=times,
        source_key=source_keys,
        data=data,
    )
    for anonymous_id, customer_id in sorted(newly_identified.items()):
        _link_and_stitch(uow, customer_id, anonymous_id)
    for customer_id in sorted(app_installs):
        uow.record(AppInstalled(customer_id=customer_id))
    return IngestResult(
        accepted=len(kinds),
        identified=identified,
        anonymous=anonymous,
        duplicates=duplicates,
        unlinked_without_consent=unlinked,
    )


def identify_session(
    uow: UnitOfWork, customer_id: int, anonymous_id: str, *, actor: str
) -> StitchResult:
    """On login: the anonymous session's past behaviour joins the customer's timeline (with
    analytics consent) and its future events are linked as they arrive."""
    root = require_root(uow, customer_id)
    if not has_consent(uow, root.id, ANALYTICS, "all"):
        return StitchResult(customer_id=root.id, anonymous_id=anonymous_id, events_stitched=0)
    stitched = _link_and_stitch(uow, customer_id, anonymous_id)
    return StitchResult(customer_id=root.id, anonymous_id=anonymous_id, events_stitched=stitched)


def anonymous_owners(uow: UnitOfWork, anonymous_ids: Sequence[str]) -> dict[str, int]:
    """The profile each of these browsing sessions was linked to (the unlinked are absent)."""
    return repo.anonymous_links(uow.session, anonymous_ids) if anonymous_ids else {}


def _link_and_stitch(uow: UnitOfWork, customer_id: int, anonymous_id: str) -> int:
    """A session linked to someone else already stays theirs: nothing of it is stitched."""
    linked = repo.link_anonymous(uow.session, anonymous_id, customer_id, uow.now)
    if linked != customer_id and resolve_id(uow, linked) != resolve_id(uow, customer_id):
        return 0
    stitched = repo.stitch_anonymous(uow.session, anonymous_id, customer_id)
    uow.record(SessionStitched(customer_id=customer_id, events=stitched))
    return stitched


def record_order(uow: UnitOfWork, order: OrderActivity) -> None:
    """An order or a return on the timeline (idempotent by order/return number)."""
    record_orders(uow, [order])


def record_orders(uow: UnitOfWork, orders: list[OrderActivity]) -> int:
    """Bulk projection (the history backfill); rows already there are left as they are."""
    keys = [o.source_key or f"{o.kind}:{o.number}" for o in orders]
    seen = repo.existing_source_keys(uow.session, keys)
    rows = []
    for order, key in zip(orders, keys, strict=True):
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            {
                "customer_id": order.customer_id,
                "anonymous_id": None,
                "kind": order.kind,
                "channel": order.channel,
                "occurred_at": order.placed_at,
                "source_key": key,
                "amount": order.total if order.kind == "order" else -abs(order.total),
                "status": order.status,
                "data": {"reference": order.number, "lines": order.lines},
            }
        )
    repo.insert_activities(uow.session, rows)
    return len(rows)


def record_order_cancellation(
    uow: UnitOfWork, number: str, *, change_key: str, amount: Decimal
) -> bool:
    """Cancelled lines of an order on the timeline: its amount (the spend the 360 counts)
    drops by ``amount``, once per ``change_key``; with nothing left it is ``cancelled``.
    False when the order is not on the timeline (yet)."""
    row = repo.lock_activity(uow.session, f"order:{number}")
    if row is None:
        return False
    data = dict(row.data or {})
    changes = dict(data.get("cancellations", {}))
    if change_key in changes:
        return True
    changes[change_key] = str(amount)
    remaining = max(Decimal(row.amount or 0) - amount, Decimal(0))
    repo.update_activity(
        uow.session,
        row.id,
        {
            "amount": remaining,
            "status": "cancelled" if remaining == 0 else "partially_cancelled",
            "data": {**data, "cancellations": changes},
        },
    )
    return True


def order_channel(uow: UnitOfWork, number: str) -> str | None:
    """The channel an order on the timeline was placed in (None: not on the timeline)."""
    return repo.activity_channel(uow.session, f"order:{number}")


def update_return_status(uow: UnitOfWork, number: str, status: str) -> None:
    repo.upsert_activity(uow.session, {"source_key": f"return:{number}", "status": status})


def record_contact(
    uow: UnitOfWork, customer_id: int, data: ContactCreate, *, actor: str
) -> ActivityRead:
    root = require_root(uow, customer_id)
    return _append(
        uow,
        root.id,
        ActivityKind.SUPPORT_CONTACT,
        data.channel,
        data.occurred_at or uow.now,
        {"topic": data.topic, "agent": actor},
    )


def send_marketing_message(
    uow: UnitOfWork, customer_id: int, message: MarketingMessage, *, actor: str
) -> MessageResult:
    """The consent gate for marketing: without a grant for the channel nothing is queued and
    nothing recorded. With it, the message is queued through the outbox (the mailer reads the
    address via ``contact_address`` at delivery) and put on the timeline."""
    root = require_root(uow, customer_id)
    if not has_consent(uow, root.id, ConsentPurpose.MARKETING.value, message.channel):
        return MessageResult(
            customer_id=root.id,
            sent=False,
            reason=f"no marketing consent for {message.channel}",
        )
    _append(
        uow,
        root.id,
        ActivityKind.MESSAGE_SENT,
        message.channel,
        uow.now,
        {"template": message.template, "campaign": message.campaign, "purpose": "marketing"},
    )
    uow.record(
        MessageRequested(
            customer_id=root.id,
            channel=message.channel,
            template=message.template,
            campaign=message.campaign,
            purpose="marketing",
        )
    )
    return MessageResult(customer_id=root.id, sent=True)


def timeline(
    uow: UnitOfWork, customer_id: int, *, limit: int = 50, before: datetime | None = None
) -> list[ActivityRead]:
    ids = cluster(uow, customer_id)
    return [activity_read(a) for a in repo.timeline(uow.session, ids, limit=limit, before=before)]


def activity_read(a: Any) -> ActivityRead:
    return ActivityRead(
        id=a.id,
        customer_id=a.customer_id,
        kind=a.kind,
        channel=a.channel,
        occurred_at=a.occurred_at,
        amount=a.amount,
        status=a.status,
        reference=(a.data or {}).get("reference"),
        data=a.data or {},
    )


def _append(
    uow: UnitOfWork,
    customer_id: int,
    kind: ActivityKind,
    channel: str | None,
    occurred_at: datetime,
    data: dict[str, Any],
) -> ActivityRead:
    rows = [
        {
            "customer_id": customer_id,
            "anonymous_id": None,
            "kind": kind.value,
            "channel": channel,
            "occurred_at": occurred_at,
            "source_key": None,
            "amount": None,
            "status": None,
            "data": data,
        }
    ]
    repo.insert_activities(uow.session, rows)
    latest = repo.timeline(uow.session, [customer_id], limit=1, kinds=[kind.value])
    return activity_read(latest[0])
