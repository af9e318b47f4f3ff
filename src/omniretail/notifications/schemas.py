"""Pydantic I/O for webhook subscriptions and notifications (API and CLI)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

from omniretail.kernel.limits import MAX_AMOUNT, MAX_INT64, Timestamp
from omniretail.notifications.models import Channel

# "omniretail.inventory.*", "omniretail.orders.shipped", "*"
EventPattern = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=120, pattern=r"^[a-z0-9_.*-]+$"
    ),
]


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(
        max_length=2000, description="Receives POSTs of application/cloudevents+json"
    )
    event_types: list[EventPattern] = Field(
        min_length=1, max_length=50, description='CloudEvent type patterns, "*" is a wildcard'
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="Signing secret; generated when omitted",
    )
    description: str | None = Field(default=None, max_length=200)


class SubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    event_types: list[str]
    active: bool
    description: str | None
    created_at: datetime


class SubscriptionCreated(SubscriptionRead):
    """Returned once, on creation: the only time the secret is shown."""

    secret: str


class SubscriptionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    event_types: list[EventPattern] | None = Field(default=None, min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=200)


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_ref: str | None
    channel: str
    kind: str
    recipient: str
    subject: str | None
    body: str
    html_body: str | None
    status: str
    created_at: datetime
    sent_at: datetime | None
    source_event_id: str


class MessageState(StrEnum):
    """Where a notification is: recorded and waiting for the relay, failed at least once and
    to be retried, given up after the relay's last attempt (a dead letter), or sent."""

    QUEUED = "queued"
    RETRYING = "retrying"
    FAILED = "failed"
    SENT = "sent"


class MessageQuery(BaseModel):
    """Filters of the message log (console, CLI and API); dates are UTC, ``until`` exclusive."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel | None = None
    state: MessageState | None = None
    customer_id: int | None = Field(default=None, ge=1, le=MAX_INT64)
    kind: str | None = Field(default=None, max_length=60)
    since: Timestamp | None = None
    until: Timestamp | None = None
    offset: int = Field(default=0, ge=0, le=MAX_AMOUNT)
    limit: int = Field(default=50, ge=1, le=500)


class MessageRead(BaseModel):
    """One notification as the message log shows it: who, when, why, delivery state."""

    id: int
    customer_id: int | None
    channel: str
    kind: str
    recipient: str
    subject: str | None
    body: str
    html_body: str | None
    # Characters of the text (what an SMS is billed by).
    length: int
    state: MessageState
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    source_event_id: str
    source_event_type: str | None
    order_number: str | None


class MessagePage(BaseModel):
    items: list[MessageRead]
    offset: int
    limit: int
    more: bool
