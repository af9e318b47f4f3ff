"""A web chat the assistant answered waits for the customer (``pending``) and resolves itself
once the customer has not written for ``support_chat_auto_resolve_hours``.

``chat`` puts the conversation to ``pending`` when the assistant answers (a handover leaves it
``open`` for an agent); a customer's next message opens it again (``add_message``). The durable
job ``support.auto_resolve`` (``support.jobs``, queued by the server's sweep when one is due)
resolves, in batches, the pending chats whose last message is still that answer of the
assistant's and older than the setting, each with an internal note saying why. No agent wrote
in them, so the HQ measures count them as contained (``measures``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from omniretail.db.uow import UnitOfWork
from omniretail.support.conversations import _set_status as set_status_of
from omniretail.support.conversations import add_message
from omniretail.support.models import Conversation, Direction, Message, Status, SupportChannel

ASSISTANT = "assistant"
AUTO_RESOLVER = "system"


def wait_for_the_customer(uow: UnitOfWork, conversation: Conversation) -> None:
    """After the assistant's answer: the chat waits for the customer (``pending``)."""
    set_status_of(uow, conversation, Status.PENDING)


def _candidates(uow: UnitOfWork, cutoff_hours: float, limit: int) -> list[Conversation]:
    cutoff = uow.now - timedelta(hours=cutoff_hours)
    return list(
        uow.session.scalars(
            select(Conversation)
            .where(
                Conversation.status == Status.PENDING.value,
                Conversation.channel == SupportChannel.CHAT.value,
                Conversation.merged_into_id.is_(None),
                Conversation.last_message_at <= cutoff,
            )
            .order_by(Conversation.last_message_at, Conversation.id)
            .limit(limit)
        )
    )


def _answered_last_by_the_assistant(uow: UnitOfWork, conversation: Conversation) -> bool:
    last = uow.session.scalar(
        select(Message)
        .where(
            Message.conversation_id == conversation.id,
            Message.direction != Direction.NOTE.value,
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    return last is not None and last.direction == Direction.OUT.value and last.author == ASSISTANT


def auto_resolve_due(uow: UnitOfWork, *, after_hours: float) -> bool:
    """Whether a pending chat has waited ``after_hours`` since its last message (a cheap check
    before queueing the job; the job decides each one)."""
    return bool(_candidates(uow, after_hours, 1))


def resolve_answered_chats(uow: UnitOfWork, *, after_hours: float, limit: int = 200) -> int:
    """Resolves up to ``limit`` pending chats the assistant answered last, more than
    ``after_hours`` ago; returns how many. A pending chat whose last message is an agent's
    (waiting for the customer after an agent's reply) is left as it is."""
    resolved = 0
    for conversation in _candidates(uow, after_hours, limit):
        if not _answered_last_by_the_assistant(uow, conversation):
            continue
        add_message(
            uow,
            conversation,
            direction=Direction.NOTE,
            author=AUTO_RESOLVER,
            body=f"Resolved automatically: the customer did not write again within "
            f"{after_hours:g} h of the assistant's answer.",
        )
        set_status_of(uow, conversation, Status.RESOLVED)
        resolved += 1
    return resolved
