"""Pydantic I/O for webhook subscriptions and notifications (API and CLI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

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
