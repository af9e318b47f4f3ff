"""Merging two conversations into one, and splitting messages out into a new one."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, update

from omniretail.db.uow import UnitOfWork
from omniretail.support.conversations import (
    _live,
    _reopen,
    _set_status,
    conversation_read,
    messages_of,
    open_conversation,
)
from omniretail.support.errors import InvalidSupportRequest
from omniretail.support.events import ConversationsMerged
from omniretail.support.models import Message, Status, SupportChannel, Team
from omniretail.support.schemas import ConversationRead


def merge(uow: UnitOfWork, source_id: int, into_id: int) -> ConversationRead:
    """Moves every message of ``source_id`` into ``into_id``; the source stays as a closed
    pointer (threading a late reply to it still lands in the survivor)."""
    if source_id == into_id:
        raise InvalidSupportRequest("a conversation cannot be merged into itself", field="into")
    source, target = _live(uow, source_id), _live(uow, into_id)
    source_open = source.status in (Status.OPEN.value, Status.PENDING.value)
    uow.session.execute(
        update(Message)
        .where(Message.conversation_id == source.id)
        .values(
            conversation_id=target.id,
            origin_conversation_id=func.coalesce(
                Message.origin_conversation_id, Message.conversation_id
            ),
        )
    )
    source.merged_into_id = target.id
    _set_status(uow, source, Status.CLOSED)
    target.customer_id = target.customer_id or source.customer_id
    target.order_id = target.order_id or source.order_id
    target.tags = list(dict.fromkeys([*(target.tags or []), *(source.tags or [])]))
    target.created_at = min(target.created_at, source.created_at)
    target.last_message_at = max(target.last_message_at, source.last_message_at)
    if source.first_response_at and (
        target.first_response_at is None or source.first_response_at < target.first_response_at
    ):
        target.first_response_at = source.first_response_at
    if target.status in (Status.RESOLVED.value, Status.CLOSED.value) and source_open:
        _reopen(uow, target)
    target.updated_at = uow.now
    uow.record(ConversationsMerged(conversation_id=target.id, merged_id=source.id))
    uow.session.flush()
    return conversation_read(uow, target, with_messages=True)


def split(
    uow: UnitOfWork, conversation_id: int, message_ids: Sequence[int], *, subject: str | None
) -> ConversationRead:
    """Moves the named messages into a new conversation (same team, channel, contact and
    links); returns the new one."""
    source = _live(uow, conversation_id)
    rows = [m for m in messages_of(uow, source.id) if m.id in set(message_ids)]
    if len(rows) != len(set(message_ids)):
        raise InvalidSupportRequest(
            "every message must belong to the conversation", field="message_ids"
        )
    if len(rows) == len(messages_of(uow, source.id)):
        raise InvalidSupportRequest("leave at least one message behind", field="message_ids")
    vault = uow.vault
    team = uow.session.get(Team, source.team_id)
    new = open_conversation(
        uow,
        channel=SupportChannel(source.channel),
        team=team,
        subject=subject or vault.decrypt("support_subject", source.subject_enc),
        contact_kind=source.contact_kind,
        contact=vault.decrypt("support_contact", source.contact_enc),
        customer_id=source.customer_id,
        order_id=source.order_id,
    )
    new.created_at = rows[0].created_at
    new.last_message_at = rows[-1].created_at
    uow.session.execute(
        update(Message).where(Message.id.in_([m.id for m in rows])).values(conversation_id=new.id)
    )
    source.updated_at = uow.now
    uow.session.flush()
    return conversation_read(uow, new, with_messages=True)
