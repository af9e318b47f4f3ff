"""Customer tables. Personal data is stored only as ciphertext (``*_enc``) or keyed hashes
(``*_index``); see ``kernel.vault``. Rows keep the customer id they were written with;
a merge only points the merged profile at its survivor (``merged_into_id``), so reads resolve
the cluster and an undo restores every row exactly."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    ERASED = "erased"


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    LOYALTY_CARD = "loyalty_card"
    POS_CUSTOMER = "pos_customer"
    DEVICE = "device"
    SOCIAL = "social"
    EXTERNAL = "external"


class VerifiedVia(StrEnum):
    CODE = "code"
    LOGIN = "login"
    CARD_SCAN = "card_scan"
    IMPORT = "import"


# Sources of identifiers the customer typed themselves: a signed-in customer's claim
# (``customers.service.claims``) and the shop's sign-up (``auth.sign_up``). Anybody can type
# anybody's address, so until such a row is verified it takes part in nothing: no match, no
# merge review, no look-up by value, no message (``identities.takes_part``).
SELF_SERVICE_CLAIM = "self-service"
SHOP_SIGN_UP = "shop-sign-up"
SELF_SERVICE_SOURCES = frozenset({SELF_SERVICE_CLAIM, SHOP_SIGN_UP})
# What ``code_send_quotas`` counts a profile's self-service claims under (per UTC day).
CLAIMS_QUOTA = "identity-claims"


class CodePurpose(StrEnum):
    """What a one-time code proves; a code proves only its own purpose."""

    # The identifier is the customer's (sign-up, adding an email or phone).
    IDENTITY = "identity"
    # The customer is at the till and agrees to spend their points on this sale.
    REDEMPTION = "redemption"


class ConsentPurpose(StrEnum):
    MARKETING = "marketing"
    PERSONALISATION = "personalisation"
    ANALYTICS = "analytics"


class ConsentChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    # Purposes that contact nobody (analytics, personalisation) are answered for all channels.
    ALL = "all"


class ActivityKind(StrEnum):
    ORDER = "order"
    RETURN = "return"
    PAGE_VIEW = "page_view"
    PRODUCT_VIEW = "product_view"
    ADD_TO_CART = "add_to_cart"
    STORE_VISIT = "store_visit"
    APP_INSTALL = "app_install"
    SUPPORT_CONTACT = "support_contact"
    MESSAGE_SENT = "message_sent"
    PROFILE = "profile"  # merges, unmerges, consent changes


BEHAVIOUR_KINDS = (
    ActivityKind.PAGE_VIEW,
    ActivityKind.PRODUCT_VIEW,
    ActivityKind.ADD_TO_CART,
    ActivityKind.STORE_VISIT,
    ActivityKind.APP_INSTALL,
)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # The source system's customer number (Online Retail II "Customer ID").
    customer_number: Mapped[int | None] = mapped_column(unique=True)
    country: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    name_enc: Mapped[str | None] = mapped_column(Text)
    address_enc: Mapped[str | None] = mapped_column(Text)
    birth_date_enc: Mapped[str | None] = mapped_column(Text)
    # "MM-DD" only, so the birthday job can find today's birthdays without decrypting.
    birthday: Mapped[str | None] = mapped_column(String(5), index=True)
    # When it was given or last changed (None: on file before migration 0053): a birthday
    # set today is no birthday coupon today (``loyalty``'s ``birthday_on_file_days``).
    birthday_since: Mapped[datetime | None]
    name_postcode_index: Mapped[str | None] = mapped_column(String(40), index=True)
    # Search keys for staff (``customers.service.search``): keyed hashes of coarse values only,
    # the surname and the postcode's outward code (district), never the values themselves.
    surname_index: Mapped[str | None] = mapped_column(String(40), index=True)
    postcode_index: Mapped[str | None] = mapped_column(String(40), index=True)
    home_store: Mapped[str | None] = mapped_column(ForeignKey("locations.code"))
    updated_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("status IN ('active', 'merged', 'erased')", name="status_known"),
        CheckConstraint(
            "(status = 'merged') = (merged_into_id IS NOT NULL)", name="merged_has_survivor"
        ),
        CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="no_self_merge"),
    )


class Identity(Base):
    __tablename__ = "customer_identities"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    # The channel for external ids and social handles ("" elsewhere).
    scope: Mapped[str] = mapped_column(String(40), default="")
    value_index: Mapped[str] = mapped_column(String(40))
    value_enc: Mapped[str] = mapped_column(Text)
    verified: Mapped[bool] = mapped_column(default=False)
    verified_via: Mapped[str | None] = mapped_column(String(20))
    verified_at: Mapped[datetime | None]
    # Evidence of a platform verification: who asserted it (the code's owner, or the system
    # principal) and its reference (a code challenge, the system's own reference). A row
    # verified before 0011 has none: it was self-declared and never counts as proof.
    verified_by: Mapped[str | None] = mapped_column(String(120))
    verification_ref: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_customer_identities_lookup", "kind", "scope", "value_index"),
        Index(
            "uq_customer_identities_per_customer",
            "customer_id",
            "kind",
            "scope",
            "value_index",
            unique=True,
        ),
        # A verified identifier belongs to one profile: a second verification merges instead.
        Index(
            "uq_customer_identities_verified",
            "kind",
            "scope",
            "value_index",
            unique=True,
            sqlite_where=text("verified"),
            postgresql_where=text("verified"),
        ),
        CheckConstraint(
            "kind IN ('email', 'phone', 'loyalty_card', 'pos_customer', 'device', 'social',"
            " 'external')",
            name="kind_known",
        ),
    )


class VerificationCode(Base):
    """A one-time code sent to an email or phone identity (``customers.service.verification``). The
    code is kept only as a keyed hash; its ciphertext lives until the relay has sent it."""

    __tablename__ = "identity_verification_codes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("customer_identities.id"), index=True)
    # The surviving profile when the code was asked for: the daily limit is per person.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(10))
    code_hash: Mapped[str] = mapped_column(String(100))
    code_enc: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    requested_by: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(20), default="identity", server_default="identity")
    # What a redemption code was sent for (the till's cart, the sale's reference): it proves
    # presence for that sale only.
    bound_to: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'used', 'superseded', 'locked', 'expired')",
            name="status_known",
        ),
        CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_identity_verification_codes_customer", "customer_id", "created_at"),
    )


class CodeSendQuota(Base):
    """Codes of one purpose one principal (the ``requested_by`` actor) sent in an hour, across
    all customers: taken by a conditional increment, so the limit holds across processes;
    ``refused`` counts the sends it turned away. The same counter holds a profile's
    self-service claims in a UTC day (``principal`` "profile:<id>", ``purpose``
    ``CLAIMS_QUOTA``, ``hour`` the day's midnight; ``customers.service.claims``)."""

    __tablename__ = "code_send_quotas"

    principal: Mapped[str] = mapped_column(String(120), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    sent: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)

    __table_args__ = (CheckConstraint("sent >= 0 AND refused >= 0", name="counts_not_negative"),)


class Consent(Base):
    """The current answer per purpose and channel; its history is in ``consent_events``."""

    __tablename__ = "customer_consents"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    granted: Mapped[bool]
    updated_at: Mapped[datetime]
    last_event_id: Mapped[int | None]


class ConsentEvent(Base):
    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    granted: Mapped[bool]
    occurred_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(60))  # where: web, app, store LON1, merge
    method: Mapped[str] = mapped_column(String(60))  # how: checkbox, double opt-in, unsubscribe
    actor: Mapped[str] = mapped_column(String(120))
    merge_id: Mapped[int | None]


class Activity(Base):
    """The timeline: orders, returns, behaviour, contacts, messages; newest first by
    ``occurred_at``. Behaviour of an unknown visitor waits under ``anonymous_id``."""

    __tablename__ = "customer_activity"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    anonymous_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    # Makes projections idempotent: "order:<number>", "return-line:<id>", a client event id.
    source_key: Mapped[str | None] = mapped_column(String(120))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    status: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # Partial indexes keep a behavioural event to two index entries (the key and either the
    # timeline or the anonymous index); most events carry no source key.
    __table_args__ = (
        Index(
            "ix_customer_activity_timeline",
            "customer_id",
            "occurred_at",
            sqlite_where=text("customer_id IS NOT NULL"),
            postgresql_where=text("customer_id IS NOT NULL"),
        ),
        # Orders and returns only: the 360's last orders, open returns and spend by channel.
        Index(
            "ix_customer_activity_purchases",
            "customer_id",
            "occurred_at",
            sqlite_where=text("kind IN ('order', 'return')"),
            postgresql_where=text("kind IN ('order', 'return')"),
        ),
        Index(
            "ix_customer_activity_anonymous",
            "anonymous_id",
            sqlite_where=text("customer_id IS NULL"),
            postgresql_where=text("customer_id IS NULL"),
        ),
        Index(
            "uq_customer_activity_source_key",
            "source_key",
            unique=True,
            sqlite_where=text("source_key IS NOT NULL"),
            postgresql_where=text("source_key IS NOT NULL"),
        ),
    )


class AnonymousLink(Base):
    """An anonymous id (cookie, app instance) that has been identified as a customer."""

    __tablename__ = "anonymous_links"

    anonymous_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    linked_at: Mapped[datetime]


class Merge(Base):
    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    rule: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(String(400))
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    # What the merge changed, so that undo restores exactly that: aliases re-pointed and the
    # survivor's consent answers replaced.
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[str | None] = mapped_column(String(120))
    undo_reason: Mapped[str | None] = mapped_column(String(400))

    __table_args__ = (CheckConstraint("status IN ('active', 'undone')", name="status_known"),)


class MergeReview(Base):
    """A match on claimed data only: a person decides."""

    __tablename__ = "merge_reviews"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_a: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    customer_b: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    rule: Mapped[str] = mapped_column(String(60))
    explanation: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(120))
    merge_id: Mapped[int | None]

    __table_args__ = (
        CheckConstraint("status IN ('open', 'merged', 'rejected')", name="status_known"),
        CheckConstraint("customer_a < customer_b", name="ordered_pair"),
        Index("uq_merge_reviews_pair", "customer_a", "customer_b", "rule", unique=True),
    )


class PrivacyRequest(Base):
    """The log of GDPR exports and erasures (who, when; never what was exported)."""

    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(120))
    occurred_at: Mapped[datetime]
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (CheckConstraint("action IN ('export', 'erase')", name="action_known"),)
