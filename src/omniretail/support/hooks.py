"""The assistant's hook: when an assistant is installed (``set_assistant``, by the
composition root or a test), a customer's chat message is offered to it in the same
transaction, and its answer, if any, is added as the assistant's reply. Default: none, so
every chat message waits for an agent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from omniretail.db.uow import UnitOfWork


@dataclass(frozen=True)
class AssistantRequest:
    conversation_id: int
    message_id: int
    text: str
    channel: str
    customer_id: int | None  # set only when the customer is signed in or verified
    order_id: int | None
    reference: str


# Returns the answer to send, or None to leave the message to an agent (a handover).
Assistant = Callable[[UnitOfWork, AssistantRequest], str | None]

_assistant: Assistant | None = None


def set_assistant(assistant: Assistant | None) -> None:
    global _assistant
    _assistant = assistant


def assistant_reply(uow: UnitOfWork, request: AssistantRequest) -> str | None:
    """The configured assistant's answer to ``request`` (None without an assistant)."""
    return _assistant(uow, request) if _assistant is not None else None
