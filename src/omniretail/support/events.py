"""Support events (``omniretail.support.*`` in the outbox); ids only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omniretail.kernel.events import Event

# The relay handler that sends an agent's email reply (``support.handlers``).
SEND_HANDLER = "support.send_reply"


@dataclass(frozen=True, kw_only=True)
class ConversationOpened(Event):
    """A new conversation started on a channel (email, chat, webhook-social, phone,
    in_store)."""

    type: ClassVar[str] = "support.conversation_opened"
    subject_template: ClassVar[str] = "support/conversations/{conversation_id}"
    conversation_id: int
    channel: str


@dataclass(frozen=True, kw_only=True)
class MessageReceived(Event):
    """The customer wrote (a new message of a new or existing conversation)."""

    type: ClassVar[str] = "support.message_received"
    subject_template: ClassVar[str] = "support/conversations/{conversation_id}"
    conversation_id: int
    message_id: int
    channel: str


@dataclass(frozen=True, kw_only=True)
class ReplyQueued(Event):
    """An agent's (or the assistant's) reply to send; email replies go out through the relay
    in the conversation's thread."""

    type: ClassVar[str] = "support.reply_queued"
    subject_template: ClassVar[str] = "support/conversations/{conversation_id}"
    conversation_id: int
    message_id: int
    channel: str


@dataclass(frozen=True, kw_only=True)
class AgentMentioned(Event):
    """An internal note mentions someone (``@handle``)."""

    type: ClassVar[str] = "support.agent_mentioned"
    subject_template: ClassVar[str] = "support/conversations/{conversation_id}"
    conversation_id: int
    message_id: int
    handle: str


@dataclass(frozen=True, kw_only=True)
class StatusChanged(Event):
    """A conversation's status changed (``reopened`` when a customer wrote after it was
    resolved)."""

    type: ClassVar[str] = "support.status_changed"
    subject_template: ClassVar[str] = "support/conversations/{conversation_id}"
    conversation_id: int
    status: str
    previous: str


@dataclass(frozen=True, kw_only=True)
class ConversationsMerged(Event):
    """A conversation was merged into another (its messages moved there)."""

    type: ClassVar[str] = "support.conversations_merged"
    subject_template: ClassVar[str] = "support/conversations/{conversation_id}"
    conversation_id: int
    merged_id: int
