"""Web chat for the shop and tracking pages: a chat is a conversation on the ``chat``
channel whose credential is a random token (only its SHA-256 is stored). Anonymous visitors
get one by starting a chat; a signed-in customer's chat is linked to their profile. The
customer sees the replies and the assistant's answers, never internal notes."""

from __future__ import annotations

import secrets

from sqlalchemy import select

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
        contact_kind="email" if data.email and "@" in data.email else None,
        contact=data.email if data.email and "@" in data.email else None,
        customer_id=customer_id,
        order_id=order_id,
        token=token,
    )
    _customer_says(uow, conversation, data.message, data.email, assistant)
    read = chat_read(uow, conversation)
    return ChatStarted(token=token, **read.model_dump())


def post_chat(
    uow: UnitOfWork, token: str, data: ChatPost, *, assistant: Assistant | None = None
) -> ChatRead:
    conversation = by_token(uow, token)
    if conversation.merged_into_id is not None:
        conversation = surviving(uow, conversation)
    if conversation.status == Status.CLOSED.value:
        raise ConversationClosed("this chat is closed: start a new one")
    if conversation.order_id is None:
        conversation.order_id = mentioned_order(uow, data.message)
    _customer_says(uow, conversation, data.message, None, assistant)
    return chat_read(uow, conversation)


def _customer_says(
    uow: UnitOfWork,
    conversation: Conversation,
    text: str,
    sender: str | None,
    assistant: Assistant | None,
) -> None:
    message = add_message(
        uow,
        conversation,
        direction=Direction.IN,
        author="customer",
        body=text,
        sender=sender if sender and "@" in sender else None,
        sender_kind="email" if sender and "@" in sender else None,
    )
    if assistant is None:
        return
    answer = assistant(
        uow,
        AssistantRequest(
            conversation_id=conversation.id,
            message_id=message.id,
            text=text,
            channel=conversation.channel,
            customer_id=conversation.customer_id,
            order_id=conversation.order_id,
            reference=conversation.reference,
        ),
    )
    if answer:
        assistant_message(uow, conversation, answer)
        # answered: the chat waits for the customer, and resolves itself if they are content
        wait_for_the_customer(uow, conversation)


def chat_read(uow: UnitOfWork, conversation: Conversation, *, after: int = 0) -> ChatRead:
    rows = messages_of(uow, conversation.id, after=after)
    return ChatRead(
        reference=conversation.reference,
        status=conversation.status,
        messages=_visible(rows, uow.vault),
    )


def chat_messages(uow: UnitOfWork, token: str, *, after: int = 0) -> ChatRead:
    conversation = surviving(uow, by_token(uow, token))
    return chat_read(uow, conversation, after=after)


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
