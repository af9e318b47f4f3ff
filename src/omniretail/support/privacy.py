"""The support part of a GDPR erasure: a person's conversations (linked to their profile, or
written from one of their addresses, found by blind index) are deleted with their messages
and attachments. ``processes.privacy`` calls ``forget_customer`` (wired by the integrator)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, or_, select, update

from omniretail.db.uow import UnitOfWork
from omniretail.support.models import Attachment, Conversation, Message


def forget_customer(
    uow: UnitOfWork, customer_ids: Sequence[int], addresses: Sequence[tuple[str, str]] = ()
) -> int:
    """Deletes the conversations of these customer ids or of these ``(kind, value)``
    addresses; returns how many went."""
    vault = uow.vault
    indexes = [vault.blind_index(kind, value) for kind, value in addresses]
    conditions = [Conversation.customer_id.in_(list(customer_ids))]
    if indexes:
        conditions.append(Conversation.contact_index.in_(indexes))
    ids = list(uow.session.scalars(select(Conversation.id).where(or_(*conditions))))
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
