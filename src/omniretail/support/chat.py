"""Web chat for the shop and tracking pages: a chat is a conversation on the ``chat``
channel whose credential is a random token (only its SHA-256 is stored). Anonymous visitors
get one by starting a chat; a signed-in customer's chat is linked to their profile. The
customer sees the replies and the assistant's answers, never internal notes.

A token sees its own conversation only: once an agent merges the chat into another
conversation (or another into it) or links it to a profile, the token still reads just the
messages written in its chat (``Message.origin_conversation_id``) and posts there; the
assistant answering it knows the customer the token was issued to (``token_customer_id``),
nobody else."""

from __future__ import annotations

import secrets

from sqlalchemy import func, or_, select

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.vault import PiiVault
from omniretail.support.auto_resolve import wait_for_the_customer
from omniretail.support.conversations import (
    add_message,
    messages_of,
    open_conversation,
    surviving,
    token_hash,
)
from omniretail.support.errors import ConversationClosed, UnknownConversation
from omniretail.support.hooks import Assistant, AssistantRequest
from omniretail.support.ingest import mentioned_order
from omniretail.support.models import Conversation, Direction, Message, Status, SupportChannel
from omniretail.support.replies import assistant_message
from omniretail.support.schemas import ChatMessage, ChatPost, ChatRead, ChatStart, ChatStarted


def _visible(rows: list[Message], vault: PiiVault) -> list[ChatMessage]:
    return [
        ChatMessage(
            id=m.id,
            direction="in" if m.direction == Direction.IN.value else "out",
            author="you"
            if m.direction == Direction.IN.value
            else ("assistant" if m.author == "assistant" else "agent"),
            body=vault.decrypt("support_body", m.body_enc) or "",
            created_at=m.created_at,
        )
        for m in rows
        if m.direction != Direction.NOTE.value
    ]


def by_token(uow: UnitOfWork, token: str) -> Conversation:
    conversation = uow.session.scalar(
        select(Conversation).where(Conversation.token_hash == token_hash(token))
    )
    if conversation is None:
        raise UnknownConversation("no chat with this token")
    return conversation


def start_chat(
    uow: UnitOfWork,
    data: ChatStart,
    *,
    customer_id: int | None = None,
    assistant: Assistant | None = None,
) -> ChatStarted:
    """A new chat; ``assistant`` (the process's, or None) may answer its first message."""
    token = secrets.token_urlsafe(32)
    if customer_id is not None:
        customer_id = customers.resolve_id(uow, customer_id)
    order_id = mentioned_order(uow, data.order_number or "", data.message)
    conversation = open_conversation(
        uow,
        channel=SupportChannel.CHAT,
        subject=(data.message[:80] + ("..." if len(data.message) > 80 else "")),
        contact_kind="email" if data.email else None,
        contact=data.email,
        customer_id=customer_id,
        order_id=order_id,
        token=token,
    )
    conversation.token_customer_id = customer_id
    if data.email and customer_id is None:
        conversation.sender_verified = False  # typed by anyone; nobody proved it is theirs
    _customer_says(uow, conversation, conversation, data.message, data.email, assistant)
    read = _token_read(uow, conversation)
    return ChatStarted(token=token, **read.model_dump())


def post_chat(
    uow: UnitOfWork, token: str, data: ChatPost, *, assistant: Assistant | None = None
) -> ChatRead:
    own = by_token(uow, token)
    conversation = surviving(uow, own) if own.merged_into_id is not None else own
    if conversation.status == Status.CLOSED.value:
        raise ConversationClosed("this chat is closed: start a new one")
    if own.order_id is None:
        own.order_id = mentioned_order(uow, data.message)
    if conversation.order_id is None:
        conversation.order_id = own.order_id
    _customer_says(uow, own, conversation, data.message, None, assistant)
    return _token_read(uow, own)


def _customer_says(
    uow: UnitOfWork,
    own: Conversation,
    conversation: Conversation,
    text: str,
    sender: str | None,
    assistant: Assistant | None,
) -> None:
    """The token's message, in ``conversation`` (``own``, or the survivor it was merged
    into), and the assistant's answer, both marked as written in ``own``."""
    message = add_message(
        uow,
        conversation,
        direction=Direction.IN,
        author="customer",
        body=text,
        sender=sender,
        sender_kind="email" if sender else None,
    )
    if own.id != conversation.id:
        message.origin_conversation_id = own.id
    if assistant is None:
        return
    answer = assistant(
        uow,
        AssistantRequest(
            conversation_id=conversation.id,
            message_id=message.id,
            text=text,
            channel=conversation.channel,
            customer_id=own.token_customer_id,
            order_id=own.order_id,
            reference=own.reference,
        ),
    )
    if answer:
        answered = assistant_message(uow, conversation, answer)
        if own.id != conversation.id:
            answered.origin_conversation_id = own.id
        # answered: the chat waits for the customer, and resolves itself if they are content
        wait_for_the_customer(uow, conversation)


def chat_read(uow: UnitOfWork, conversation: Conversation, *, after: int = 0) -> ChatRead:
    rows = messages_of(uow, conversation.id, after=after)
    return ChatRead(
        reference=conversation.reference,
        status=conversation.status,
        messages=_visible(rows, uow.vault),
    )


def _token_read(uow: UnitOfWork, own: Conversation, *, after: int = 0) -> ChatRead:
    """What the token's holder sees: the messages written in its own chat, wherever a merge
    moved them; the status of the conversation they are in now."""
    rows = list(
        uow.session.scalars(
            select(Message)
            .where(
                func.coalesce(Message.origin_conversation_id, Message.conversation_id) == own.id,
                or_(Message.conversation_id == own.id, Message.origin_conversation_id == own.id),
                Message.id > after,
            )
            .order_by(Message.id)
        )
    )
    current = surviving(uow, own) if own.merged_into_id is not None else own
    return ChatRead(
        reference=own.reference, status=current.status, messages=_visible(rows, uow.vault)
    )


def chat_messages(uow: UnitOfWork, token: str, *, after: int = 0) -> ChatRead:
    return _token_read(uow, by_token(uow, token), after=after)


def customer_chats(uow: UnitOfWork, customer_id: int) -> list[ChatRead]:
    cluster = customers.cluster(uow, customer_id)
    rows = uow.session.scalars(
        select(Conversation)
        .where(
            Conversation.customer_id.in_(cluster),
            Conversation.channel == SupportChannel.CHAT.value,
            Conversation.merged_into_id.is_(None),
        )
        .order_by(Conversation.id.desc())
        .limit(50)
    )
    return [chat_read(uow, c) for c in rows]
