"""The support part of GDPR: a person's conversations (linked to their profile, or written
from one of their verified addresses, found by blind index) are exported (``personal_data``)
and, on erasure, deleted with their messages and attachments (``forget_customer``), both
called by ``processes.privacy``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, or_, select, update

from omniretail.db.uow import UnitOfWork
from omniretail.support.models import Attachment, Conversation, Message


def _conversation_ids(
    uow: UnitOfWork, customer_ids: Sequence[int], addresses: Sequence[tuple[str, str]]
) -> list[int]:
    vault = uow.vault
    indexes = [vault.blind_index(kind, value) for kind, value in addresses]
    conditions = [Conversation.customer_id.in_(list(customer_ids))]
    if indexes:
        conditions.append(Conversation.contact_index.in_(indexes))
    return list(
        uow.session.scalars(
            select(Conversation.id).where(or_(*conditions)).order_by(Conversation.id)
        )
    )


def personal_data(
    uow: UnitOfWork, customer_ids: Sequence[int], addresses: Sequence[tuple[str, str]] = ()
) -> list[dict[str, Any]]:
    """The person's conversations with every message (internal notes included: they are
    data held about the person) and the attachments' names and sizes, as JSON-able data."""
    ids = _conversation_ids(uow, customer_ids, addresses)
    if not ids:
        return []
    vault = uow.vault
    s = uow.session
    files: dict[int, list[dict[str, Any]]] = {}
    for a in s.execute(
        select(Attachment.message_id, Attachment.filename, Attachment.content_type, Attachment.size)
        .join(Message, Message.id == Attachment.message_id)
        .where(Message.conversation_id.in_(ids))
        .order_by(Attachment.id)
    ):
        files.setdefault(a.message_id, []).append(
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
        )
    messages: dict[int, list[dict[str, Any]]] = {}
    for m in s.scalars(
        select(Message).where(Message.conversation_id.in_(ids)).order_by(Message.id)
    ):
        messages.setdefault(m.conversation_id, []).append(
            {
                "direction": m.direction,
                "author": m.author,
                "channel": m.channel,
                "sender": vault.decrypt("support_sender", m.sender_enc),
                "body": vault.decrypt("support_body", m.body_enc) or "",
                "created_at": m.created_at.isoformat(),
                "attachments": files.get(m.id, []),
            }
        )
    return [
        {
            "reference": c.reference,
            "channel": c.channel,
            "status": c.status,
            "subject": vault.decrypt("support_subject", c.subject_enc),
            "contact": vault.decrypt("support_contact", c.contact_enc),
            "tags": list(c.tags or []),
            "created_at": c.created_at.isoformat(),
            "messages": messages.get(c.id, []),
        }
        for c in s.scalars(
            select(Conversation).where(Conversation.id.in_(ids)).order_by(Conversation.id)
        )
    ]


def forget_customer(
    uow: UnitOfWork, customer_ids: Sequence[int], addresses: Sequence[tuple[str, str]] = ()
) -> int:
    """Deletes the conversations of these customer ids or of these ``(kind, value)``
    addresses; returns how many went."""
    ids = _conversation_ids(uow, customer_ids, addresses)
    if not ids:
        return 0
    # a merged-away pointer to one of them keeps no link
    uow.session.execute(
        update(Conversation)
        .where(Conversation.merged_into_id.in_(ids), Conversation.id.not_in(ids))
        .values(merged_into_id=None)
    )
    messages = select(Message.id).where(Message.conversation_id.in_(ids))
    uow.session.execute(delete(Attachment).where(Attachment.message_id.in_(messages)))
    uow.session.execute(delete(Message).where(Message.conversation_id.in_(ids)))
    uow.session.execute(
        update(Conversation).where(Conversation.id.in_(ids)).values(merged_into_id=None)
    )
    uow.session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
    return len(ids)
