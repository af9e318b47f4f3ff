"""The assistant's port: a customer's chat message is offered to the assistant the caller
hands the chat use cases (``chat.start_chat``/``post_chat``, ``assistant=``) in the same
transaction, and its answer, if any, is added as the assistant's reply. The composition root
holds the process's assistant (``Container.assistant``, from ``assistant_for``); the API
reaches it through ``app.state`` (``api.assistant_of``). None: every chat message waits for an
agent."""

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
