"""Pydantic I/O for customers, shared by the API, the CLI and other domains."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from omniretail.customers.models import SHOP_SIGN_UP as SHOP_SIGN_UP

# The enums other packages use with the schemas, re-exported (models are not the face).
from omniretail.customers.models import ActivityKind as ActivityKind
from omniretail.customers.models import ConsentChannel as ConsentChannel
from omniretail.customers.models import ConsentPurpose as ConsentPurpose
from omniretail.customers.models import CustomerStatus as CustomerStatus
from omniretail.customers.models import IdentityKind as IdentityKind
from omniretail.customers.models import VerifiedVia as VerifiedVia
from omniretail.kernel.limits import Id, JsonObject, Timestamp, one_mailbox

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AnonymousId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class Address(BaseModel):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20)
    country: str = Field(default="United Kingdom", max_length=80)


class IdentityCreate(BaseModel):
    """An identifier as someone claims it. Nobody declares an identifier verified: the platform
    verifies it (a one-time code, ``customers.service.verification``), or a system principal holding
    ``identities:verify`` attests it with evidence."""

    kind: IdentityKind
    value: Text
    scope: str = Field(default="", max_length=40, description="channel of an external id")
    source: str | None = Field(default=None, max_length=40)

    @model_validator(mode="before")
    @classmethod
    def _no_self_declared_verification(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("verified" in data or "verified_via" in data):
            raise ValueError(
                "an identity cannot be declared verified: ask for a code (POST"
                " .../identities/{identity_id}/verification) and confirm it"
            )
        return data

    @model_validator(mode="after")
    def _email_looks_like_one(self) -> IdentityCreate:
        if self.kind == IdentityKind.EMAIL and not one_mailbox(self.value.strip()):
            raise ValueError("not one email address (like name@example.com)")
        return self


class VerificationSent(BaseModel):
    """A code is on its way (never in this response)."""

    identity_id: int
    channel: Literal["email", "sms"]
    destination: str = Field(description="the address, masked")
    expires_at: datetime
    sends_left_in_window: int


class CodeSendQuotaRead(BaseModel):
    """What one staff principal sent (and was refused) of a purpose in a clock hour."""

    principal: str
    purpose: str
    hour: datetime
    sent: int
    refused: int


class CodeEntry(BaseModel):
    code: str = Field(
        max_length=20, pattern=r"^\s*\d{6,10}\s*$", description="the code that was sent"
    )


class Attestation(BaseModel):
    """A system principal's evidence that it verified the identifier itself."""

    via: VerifiedVia
    reference: str = Field(
        min_length=3, max_length=200, description="the system's own record of the check"
    )


class CustomerCreate(BaseModel):
    name: Text | None = None
    address: Address | None = None
    birth_date: date | None = None
    home_store: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, max_length=80)
    identities: list[IdentityCreate] = Field(default_factory=list, max_length=20)


class CustomerUpdate(BaseModel):
    """The fields a profile change may name; any other (``points``, ``role``, ``tier``...) is
    a 422 rather than silently ignored, so a client learns that it changed nothing."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = None
    address: Address | None = None
    birth_date: date | None = None
    home_store: str | None = Field(default=None, max_length=40)


class IdentityRead(BaseModel):
    id: int
    customer_id: int
    kind: IdentityKind
    scope: str
    value: str
    verified: bool
    verified_via: str | None
    verified_at: datetime | None
    verified_by: str | None = None
    verification_ref: str | None = None
    created_at: datetime


class Resolution(BaseModel):
    """What identity resolution decided and why (deterministic: the same input, the same
    answer)."""

    outcome: Literal["new", "kept", "verified", "merged", "queued"]
    rule: str | None = None
    explanation: str
    customer_id: int
    matched_customer_ids: list[int] = Field(default_factory=list)
    merge_id: int | None = None
    review_ids: list[int] = Field(default_factory=list)


class IdentityClaim(BaseModel):
    """What a signed-in customer is told when they add an email or phone to their own profile
    or enter its code: about that identifier and their own profile only. It reads the same
    whether or not the identifier is on someone else's profile (no other profile's id, no
    review, no merge); what that means is settled by staff, after the code proved it."""

    identity_id: int
    kind: IdentityKind
    status: Literal["code_sent", "verified", "in_review"] = Field(
        description="code_sent: enter the code sent to it; verified: it is yours, proven;"
        " in_review: proven, and our staff check it before it joins your profile"
    )
    explanation: str
    verification: VerificationSent | None = Field(
        default=None, description="the code just sent (status code_sent)"
    )


class CustomerRead(BaseModel):
    id: int
    status: str
    customer_number: int | None
    name: str | None
    address: Address | None
    birth_date: date | None
    home_store: str | None
    country: str | None
    created_at: datetime
    aliases: list[int] = Field(description="merged profiles whose ids now lead here")
    resolved_from: int | None = Field(
        default=None, description="the id asked for, when it was an alias"
    )


class CustomerSearch(BaseModel):
    by: Literal["name", "postcode"]
    value: str = Field(min_length=1, max_length=200)


class CustomerMatch(BaseModel):
    """A search result: enough to tell people apart, the rest is on the profile."""

    id: int
    name: str | None
    postcode: str | None
    city: str | None
    home_store: str | None
    customer_number: int | None


class CustomerWithResolution(BaseModel):
    customer: CustomerRead
    resolutions: list[Resolution]


class ConsentWrite(BaseModel):
    purpose: ConsentPurpose
    channel: ConsentChannel
    granted: bool
    source: str = Field(default="api", min_length=1, max_length=60, description="where")
    method: str = Field(default="form", min_length=1, max_length=60, description="how")


class ConsentRead(BaseModel):
    purpose: ConsentPurpose
    channel: ConsentChannel
    granted: bool
    updated_at: datetime


class ConsentsRead(BaseModel):
    customer_id: int
    consents: list[ConsentRead]


class ConsentHistoryRead(BaseModel):
    id: int
    customer_id: int
    purpose: ConsentPurpose
    channel: ConsentChannel
    granted: bool
    occurred_at: datetime
    source: str
    method: str
    actor: str
    merge_id: int | None


class MergeCreate(BaseModel):
    survivor_id: Id
    merged_id: Id
    reason: str = Field(min_length=3, max_length=400)


class UndoMerge(BaseModel):
    reason: str = Field(min_length=3, max_length=400)


class MergeRead(BaseModel):
    id: int
    survivor_id: int
    merged_id: int
    status: str
    rule: str
    reason: str
    actor: str
    created_at: datetime
    undone_at: datetime | None
    undone_by: str | None
    undo_reason: str | None


class ReviewRead(BaseModel):
    id: int
    customer_a: int
    customer_b: int
    rule: str
    explanation: str
    status: str
    created_at: datetime
    decided_by: str | None
    merge_id: int | None


class ReviewDecision(BaseModel):
    decision: Literal["merge", "reject"]
    reason: str = Field(min_length=3, max_length=400)


class EventIn(BaseModel):
    """A behavioural event from a web page, the app or a store sensor. Each needs a
    ``customer_id`` or an ``anonymous_id`` (checked by ``EventBatch``, once per batch)."""

    type: Literal["page_view", "product_view", "add_to_cart", "store_visit", "app_install"]
    occurred_at: Timestamp
    customer_id: Id | None = None
    anonymous_id: AnonymousId | None = None
    channel: str | None = Field(default=None, max_length=40)
    event_id: str | None = Field(default=None, max_length=80, description="client id (dedupe)")
    data: JsonObject = Field(default_factory=dict)


class EventBatch(BaseModel):
    """Validated in one pass: the field checks run in pydantic's core for every event, the
    one rule that needs Python (someone to attach the event to) in one loop per batch."""

    events: list[EventIn] = Field(min_length=1, max_length=1000)

    @field_validator("events")
    @classmethod
    def _someone(cls, events: list[EventIn]) -> list[EventIn]:
        for index, event in enumerate(events):
            if event.customer_id is None and event.anonymous_id is None:
                raise ValueError(f"events[{index}] needs a customer_id or an anonymous_id")
        return events


class IngestResult(BaseModel):
    accepted: int
    identified: int
    anonymous: int
    duplicates: int
    unlinked_without_consent: int


class IdentifySession(BaseModel):
    anonymous_id: AnonymousId


class StitchResult(BaseModel):
    customer_id: int
    anonymous_id: str
    events_stitched: int


class ActivityRead(BaseModel):
    id: int
    customer_id: int | None
    kind: ActivityKind
    channel: str | None
    occurred_at: datetime
    amount: Decimal | None
    status: str | None
    reference: str | None
    data: dict[str, Any]


class OrderActivity(BaseModel):
    """An order (or a return) as the timeline and the 360 need it; fed by the orders domain
    and by the history backfill."""

    customer_id: int
    number: str
    channel: str
    placed_at: datetime
    total: Decimal
    kind: Literal["order", "return"] = "order"
    status: str | None = None
    lines: int = 0
    source_key: str | None = None


class ContactCreate(BaseModel):
    channel: str = Field(min_length=1, max_length=40)
    topic: str = Field(min_length=1, max_length=120)
    occurred_at: Timestamp | None = None


class MarketingMessage(BaseModel):
    channel: Literal["email", "sms", "push"]
    template: str = Field(min_length=1, max_length=80)
    campaign: str | None = Field(default=None, max_length=80)


class MessageResult(BaseModel):
    customer_id: int
    sent: bool
    reason: str | None = None


class SpendByChannel(BaseModel):
    channel: str
    orders: int
    spend: Decimal
    currency: str = Field(description="ISO 4217 code of the channel's sales")


class SpendInCurrency(BaseModel):
    currency: str
    spend: Decimal


class Customer360(BaseModel):
    customer: CustomerRead
    identities: list[IdentityRead]
    consents: list[ConsentRead]
    spend_by_channel: list[SpendByChannel]
    lifetime_spend_by_currency: list[SpendInCurrency] = Field(
        description="net spend summed per currency (amounts in two currencies never add up)"
    )
    lifetime_spend: Decimal | None = Field(
        description="net spend when every order is in one currency; null when they differ"
    )
    last_orders: list[ActivityRead]
    open_returns: list[ActivityRead]
    loyalty: dict[str, Any] | None = None


class PrivacyLogRead(BaseModel):
    id: int
    customer_id: int
    action: str
    actor: str
    occurred_at: datetime
    summary: dict[str, Any]
