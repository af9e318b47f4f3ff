"""Customer events (``omniretail.customers.*`` in the outbox). They carry ids, never personal
data: a consumer that needs an address asks the customers service at delivery time.

Every event's subject is ``customers/<customer_id>`` and its data carries ``customer_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omniretail.kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class CustomerEvent(Event):
    """Base of the customer events: about one profile."""

    subject_template: ClassVar[str] = "customers/{customer_id}"
    customer_id: int


@dataclass(frozen=True, kw_only=True)
class Registered(CustomerEvent):
    """A profile was created."""

    type: ClassVar[str] = "customers.registered"
    actor: str


@dataclass(frozen=True, kw_only=True)
class Updated(CustomerEvent):
    """A profile's details were changed."""

    type: ClassVar[str] = "customers.updated"
    actor: str


@dataclass(frozen=True, kw_only=True)
class IdentityAdded(CustomerEvent):
    """An identifier was claimed for a profile (not verified yet)."""

    type: ClassVar[str] = "customers.identity_added"
    identity_id: int
    kind: str
    verified: bool


@dataclass(frozen=True, kw_only=True)
class IdentityVerified(CustomerEvent):
    """The platform verified an identifier (``via`` a code it sent or a system's check)."""

    type: ClassVar[str] = "customers.identity_verified"
    identity_id: int
    via: str
    by: str
    reference: str


@dataclass(frozen=True, kw_only=True)
class IdentityUnverified(CustomerEvent):
    """A self-declared identifier went back to claimed: another profile proved it."""

    type: ClassVar[str] = "customers.identity_unverified"
    identity_id: int
    by: str


@dataclass(frozen=True, kw_only=True)
class IdentityCodeRequested(CustomerEvent):
    """A verification code was made for an identifier; the relay sends it (the code itself is
    only in its encrypted row)."""

    type: ClassVar[str] = "customers.identity_code_requested"
    code_id: int
    identity_id: int
    channel: str


@dataclass(frozen=True, kw_only=True)
class MergeReviewQueued(CustomerEvent):
    """Two profiles may be one person: a review was queued for a person to decide."""

    type: ClassVar[str] = "customers.merge_review_queued"
    other_id: int
    rule: str
    review_id: int


@dataclass(frozen=True, kw_only=True)
class Merged(CustomerEvent):
    """Two profiles were merged; ``customer_id`` survives, ``aliases`` now resolve to it."""

    type: ClassVar[str] = "customers.merged"
    merged_id: int
    merge_id: int
    rule: str
    aliases: list[int]


@dataclass(frozen=True, kw_only=True)
class MergeUndone(CustomerEvent):
    """A merge was undone exactly: ``restored_ids`` resolve to ``restored_id`` again."""

    type: ClassVar[str] = "customers.merge_undone"
    merge_id: int
    restored_id: int
    restored_ids: list[int]
    merged_at: str


@dataclass(frozen=True, kw_only=True)
class ConsentChanged(CustomerEvent):
    """A consent was granted or withdrawn for a purpose and channel."""

    type: ClassVar[str] = "customers.consent_changed"
    purpose: str
    channel: str
    granted: bool


@dataclass(frozen=True, kw_only=True)
class AppInstalled(CustomerEvent):
    """A behavioural event said the customer installed the app."""

    type: ClassVar[str] = "customers.app_installed"


@dataclass(frozen=True, kw_only=True)
class SessionStitched(CustomerEvent):
    """An anonymous session was linked to the profile; ``events`` of it moved onto the
    timeline."""

    type: ClassVar[str] = "customers.session_stitched"
    events: int


@dataclass(frozen=True, kw_only=True)
class MessageRequested(CustomerEvent):
    """A marketing message to a consenting customer was requested."""

    type: ClassVar[str] = "customers.message_requested"
    channel: str
    template: str
    campaign: str | None
    purpose: str


@dataclass(frozen=True, kw_only=True)
class Exported(CustomerEvent):
    """A GDPR export of the profile was made."""

    type: ClassVar[str] = "customers.exported"
    actor: str


@dataclass(frozen=True, kw_only=True)
class Erased(CustomerEvent):
    """The person's data was erased from every profile of the cluster (``ids``)."""

    type: ClassVar[str] = "customers.erased"
    ids: list[int]
