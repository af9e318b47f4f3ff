"""Support tables (registered in ``migrations/registry.py``): teams with business hours and
SLAs, conversations from every channel, their messages (bodies and sender addresses are vault
ciphertext, the sender also as a blind index), attachments and canned replies."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class SupportChannel(StrEnum):
    EMAIL = "email"
    CHAT = "chat"
    SOCIAL = "webhook-social"
    PHONE = "phone"
    IN_STORE = "in_store"


class Direction(StrEnum):
    IN = "in"  # from the customer
    OUT = "out"  # to the customer (an agent or the assistant)
    NOTE = "note"  # internal, never shown to the customer


class Team(Base):
    """A queue: its business hours (``hours``: ISO weekday "1".."7" -> ["09:00", "17:00"];
    a missing day is closed) in ``time_zone``, and its SLA targets in business minutes."""

    __tablename__ = "support_teams"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(60))
    hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    # The inbound address routed to this team (lower case), if any.
    address: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Conversation(Base):
    __tablename__ = "support_conversations"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # Shown to the customer ("[ref:K7Q2M9XD]" in email subjects): the threading fallback.
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    # SHA-256 of the chat token (the customer's credential for a chat); None for other channels.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("support_teams.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))
    priority: Mapped[str] = mapped_column(String(8))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject_enc: Mapped[str | None] = mapped_column(Text)
    # The customer's address on this channel (email, phone, social handle): ciphertext and
    # blind index (kind-qualified, ``PiiVault.blind_index``).
    contact_kind: Mapped[str | None] = mapped_column(String(20))
    contact_enc: Mapped[str | None] = mapped_column(Text)
    contact_index: Mapped[str | None] = mapped_column(String(40), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # Email: whether the sender was authenticated (``mail_auth``); False: an unverified
    # sender, not linked to a profile. None: another channel.
    sender_verified: Mapped[bool | None]
    # The customer a chat token was issued to (a signed-in customer's chat): the token speaks
    # for them only, whatever the conversation is linked or merged to later.
    token_customer_id: Mapped[int | None] = mapped_column(BigIntPK)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    fulfilment_id: Mapped[int | None] = mapped_column(ForeignKey("fulfilments.id"))
    return_request_code: Mapped[str | None] = mapped_column(ForeignKey("return_requests.code"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("support_conversations.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_message_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    first_response_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None]
    reopened: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'pending', 'resolved', 'closed')", name="status_known"),
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority_known"),
        CheckConstraint(
            "channel IN ('email', 'chat', 'webhook-social', 'phone', 'in_store')",
            name="channel_known",
        ),
        Index("ix_support_conversations_queue", "team_id", "status", "last_message_at"),
    )


class Message(Base):
    __tablename__ = "support_messages"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("support_conversations.id"), index=True)
    # Where the message was written, once a merge moved it (or a chat token posted it into the
    # survivor): a chat token sees the messages of its own conversation only.
    origin_conversation_id: Mapped[int | None] = mapped_column(BigIntPK, index=True)
    direction: Mapped[str] = mapped_column(String(4))
    # "customer", a principal's actor name, "assistant" or "system".
    author: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(20))
    # RFC 5322 Message-ID (inbound and outbound email) or a channel's own message id
    # ("social:<app>:<id>"): unique, so a re-delivery adds nothing.
    message_id: Mapped[str | None] = mapped_column(String(300), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(300))
    sender_enc: Mapped[str | None] = mapped_column(Text)
    sender_index: Mapped[str | None] = mapped_column(String(40), index=True)
    body_enc: Mapped[str] = mapped_column(Text)
    # The quoted history cut from an inbound email (the body keeps only the new text).
    quoted_trimmed: Mapped[bool] = mapped_column(default=False)
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    attachments_refused: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # An incoming email's own sender check (``mail_auth``): a spoofed mail threaded into a
    # verified sender's conversation is still unverified. Null: not checked per message
    # (chat, social, staff; mail before 0046): the conversation's answer stands.
    sender_verified: Mapped[bool | None]

    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out', 'note')", name="direction_known"),
    )


class Attachment(Base):
    """A file that came with a message (within the size limits), stored in the database."""

    __tablename__ = "support_attachments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("support_messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # the file's bytes as vault ciphertext (``PiiVault.encrypt_bytes``, field
    # ``support_attachment``)
    data_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class CannedReply(Base):
    """A reply template: ``body`` is sandboxed Jinja2 with ``{{ customer_name }}``,
    ``{{ order_number }}``, ``{{ reference }}``, ``{{ agent }}`` and ``{{ team }}``."""

    __tablename__ = "support_canned_replies"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


from omniretail.support.desk_models import SatisfactionSurvey  # noqa: E402

__all__ = [
    "Attachment",
    "CannedReply",
    "Conversation",
    "Direction",
    "Message",
    "Priority",
    "SatisfactionSurvey",
    "Status",
    "SupportChannel",
    "Team",
]
