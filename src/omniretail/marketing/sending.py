"""Sending: every marketing send is a durable row with a key, decided once at send time.

``queue_sends`` stores requests (an existing key is ignored: a retried journey step queues
nothing twice); ``deliver_due`` (``sending_delivery``) claims due sends, passes each through
the one decision (``sending_decision``), renders and delivers it. The policy and the
suppressions are in ``sending_policy``; the inbox, store and receipt cards in ``sending_cards``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, func, select

from omniretail.db.bulk import insert_rows
from omniretail.db.sql import insert_for
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import InvalidRequest
from omniretail.marketing.schemas import SendRead
from omniretail.marketing.sending_models import Attribute, MarketingSend
from omniretail.marketing.sending_policy import get_policy
from omniretail.marketing.zones import customer_zones

CHANNELS = ("email", "sms", "push", "inbox", "store", "receipt", "preferred")
PREMISES = ("none", "in_stock", "price_lower")


@dataclass(frozen=True, kw_only=True)
class SendRequest:
    key: str  # unique; journeys: f"j{journey_id}v{version}:{step_id}:c{customer_id}:{occurrence}"
    customer_id: int
    message: str  # marketing message code
    channel: str  # email|sms|push|inbox|store|receipt|preferred
    priority: int = 50  # higher wins under a cap
    transactional: bool = False  # never capped, never held, needs no marketing consent
    holdout: bool = False  # recorded (suppressed "holdout"), never sent
    premise: str = "none"  # none|in_stock|price_lower, re-checked at send time from context
    context: Mapping[str, Any] = field(default_factory=dict)
    journey_id: int | None = None
    run_id: int | None = None
    step_id: str | None = None
    due_at: datetime | None = None


def _row(uow: UnitOfWork, r: SendRequest) -> dict[str, Any]:
    if r.channel not in CHANNELS:
        raise InvalidRequest(f"no channel {r.channel!r}", field="channel")
    if r.premise not in PREMISES:
        raise InvalidRequest(f"no premise {r.premise!r}", field="premise")
    if not 0 < len(r.key) <= 200:
        raise InvalidRequest("a send key has 1 to 200 characters", field="key")
    return {
        "key": r.key,
        "customer_id": r.customer_id,
        "message_code": r.message,
        "requested_channel": r.channel,
        "channel": None,
        "priority": r.priority,
        "transactional": r.transactional,
        "holdout": r.holdout,
        "premise": r.premise,
        "context": dict(r.context),
        "journey_id": r.journey_id,
        "run_id": r.run_id,
        "step_id": r.step_id,
        "status": "queued",
        "reason": None,
        "due_at": r.due_at or uow.now,
        "lease_until": None,
        "created_at": uow.now,
        "decided_at": None,
        "sent_at": None,
        "notification_id": None,
    }


def queue_sends(uow: UnitOfWork, requests: Sequence[SendRequest]) -> int:
    """Store the requests whose key is new, status queued; returns how many were new."""
    rows = [_row(uow, r) for r in requests]
    table: Table = MarketingSend.__table__  # type: ignore[assignment]
    return len(insert_rows(uow.session, table, rows, conflict=["key"], returning=["id"]))


def set_attribute(uow: UnitOfWork, customer_id: int, name: str, value: str) -> None:
    """Set (or replace) a marketing attribute, e.g. ``preferred_channel``."""
    if not 0 < len(name) <= 60 or len(value) > 500:
        raise InvalidRequest(
            "an attribute has a name of 1-60 and a value of at most 500 characters"
        )
    stmt = insert_for(uow.session)(Attribute).values(
        customer_id=customer_id, name=name, value=value, updated_at=uow.now
    )
    uow.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["customer_id", "name"],
            set_={"value": value, "updated_at": uow.now},
        )
    )


def attributes(uow: UnitOfWork, customer_id: int) -> dict[str, str]:
    rows = uow.session.execute(
        select(Attribute.name, Attribute.value).where(Attribute.customer_id == customer_id)
    )
    return {name: value for name, value in rows}


def _where(
    customer_id: int | None = None,
    status: str | None = None,
    reason: str | None = None,
    journey_id: int | None = None,
    message: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    for column, value in (
        (MarketingSend.customer_id, customer_id),
        (MarketingSend.status, status),
        (MarketingSend.reason, reason),
        (MarketingSend.journey_id, journey_id),
        (MarketingSend.message_code, message),
        (MarketingSend.channel, channel),
    ):
        if value is not None:
            found.append(column == value)
    if since is not None:
        found.append(MarketingSend.created_at >= since)
    if until is not None:
        found.append(MarketingSend.created_at < until)
    return found


def list_sends(
    uow: UnitOfWork,
    *,
    customer_id: int | None = None,
    status: str | None = None,
    reason: str | None = None,
    journey_id: int | None = None,
    message: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[SendRead]:
    """Sends, newest first, filtered."""
    where = _where(customer_id, status, reason, journey_id, message, channel, since, until)
    q = select(MarketingSend).where(*where)
    rows = uow.session.scalars(q.order_by(MarketingSend.id.desc()).offset(offset).limit(limit))
    return [SendRead.model_validate(r) for r in rows]


def count_sends(uow: UnitOfWork, **filters: Any) -> dict[tuple[str, str | None], int]:
    """(status, reason) -> how many sends, for the filters of ``list_sends``."""
    q = (
        select(MarketingSend.status, MarketingSend.reason, func.count())
        .where(*_where(**filters))
        .group_by(MarketingSend.status, MarketingSend.reason)
    )
    return {(status, reason): n for status, reason, n in uow.session.execute(q)}


def local_due(uow: UnitOfWork, sends: Sequence[SendRead]) -> dict[int, datetime]:
    """Send id -> when a queued or held send is due, on the customer's local clock."""
    waiting = [s for s in sends if s.status in ("queued", "held")]
    if not waiting:
        return {}
    default = get_policy(uow).default_zone
    zones = customer_zones(uow.session, {s.customer_id for s in waiting}, default=default)
    return {s.id: s.due_at.astimezone(zones[s.customer_id]) for s in waiting}


def get_send(uow: UnitOfWork, key: str) -> SendRead | None:
    row = uow.session.scalar(select(MarketingSend).where(MarketingSend.key == key))
    return SendRead.model_validate(row) if row is not None else None
