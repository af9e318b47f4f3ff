"""Conversations: opening one, adding messages, the desk's changes (status, assignment,
priority, tags, links, merge and split) and SLA due times in the team's business hours.

Personal data (the subject, the customer's address, every message body and sender) is vault
ciphertext; the address also as a blind index. Services never commit."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from omniretail.auth import service as auth
from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import service as fulfilment
from omniretail.kernel.errors import NotFound
from omniretail.kernel.vault import PiiVault
from omniretail.orders import service as orders
from omniretail.support import hours as business_hours
from omniretail.support.errors import (
    ConversationClosed,
    InvalidSupportRequest,
    UnknownConversation,
    UnknownTeam,
)
from omniretail.support.events import (
    AgentMentioned,
    ConversationOpened,
    MessageReceived,
    ReplyQueued,
    StatusChanged,
)
from omniretail.support.models import (
    Attachment,
    Conversation,
    Direction,
    Message,
    Priority,
    Status,
    SupportChannel,
    Team,
)
from omniretail.support.schemas import (
    AttachmentRead,
    ConversationQuery,
    ConversationRead,
    MessageRead,
)

DEFAULT_TEAM = "general"
_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
# The vault field an attachment's bytes are sealed for (db.encrypted registers the column).
ATTACHMENT_FIELD = "support_attachment"
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9][\w.\-]{0,60}[A-Za-z0-9_])")
# Order numbers as checkout writes them (``orders.service.new_order_number``).
ORDER_NUMBER = re.compile(r"\bOR-[0-9A-HJKMNP-TV-Z]{10}\b")
TRACKING_LINK = re.compile(r"/track/([A-Za-z0-9_\-]{16,64})")


def new_reference() -> str:
    return "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    data: bytes


# --- teams -----------------------------------------------------------------------------------


def team_by_code(uow: UnitOfWork, code: str) -> Team:
    team = uow.session.scalar(select(Team).where(Team.code == code))
    if team is None:
        raise UnknownTeam(f"no support team {code!r}", field="team")
    return team


def default_team(uow: UnitOfWork) -> Team:
    """The ``general`` team, created on first use (Monday to Friday 09:00-17:00 London)."""
    team = uow.session.scalar(select(Team).where(Team.code == DEFAULT_TEAM))
    if team is None:
        team = Team(
            code=DEFAULT_TEAM,
            name="Customer service",
            time_zone="Europe/London",
            hours=dict(business_hours.DEFAULT_HOURS),
            first_response_minutes=240,
            resolution_minutes=2880,
            address=None,
            created_at=uow.now,
            updated_at=uow.now,
        )
        uow.session.add(team)
        uow.session.flush()
    return team


def team_for_address(uow: UnitOfWork, addresses: Sequence[str]) -> Team:
    """The team whose inbound address is among ``addresses``, else the default team (one
    statement when the default team exists)."""
    wanted = [a.strip().lower() for a in addresses if a]
    teams = list(
        uow.session.scalars(
            select(Team).where((Team.code == DEFAULT_TEAM) | Team.address.in_(wanted or [""]))
        )
    )
    for team in teams:
        if team.address and team.address in wanted:
            return team
    for team in teams:
        if team.code == DEFAULT_TEAM:
            return team
    return default_team(uow)


def _due(team: Team, start: datetime, minutes: int) -> datetime:
    return business_hours.add_business_minutes(start, minutes, team.hours, team.time_zone)


# --- opening and adding ----------------------------------------------------------------------


def open_conversation(
    uow: UnitOfWork,
    *,
    channel: SupportChannel,
    team: Team | None = None,
    subject: str | None = None,
    contact_kind: str | None = None,
    contact: str | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
    token: str | None = None,
    status: Status = Status.OPEN,
) -> Conversation:
    vault = uow.vault
    team = team or default_team(uow)
    conversation = Conversation(
        reference=new_reference(),
        token_hash=token_hash(token) if token else None,
        team_id=team.id,
        channel=channel.value,
        status=status.value,
        priority=Priority.NORMAL.value,
        assignee_id=None,
        tags=[],
        subject_enc=vault.encrypt("support_subject", subject),
        contact_kind=contact_kind,
        contact_enc=vault.encrypt("support_contact", contact),
        contact_index=vault.blind_index(contact_kind, contact)
        if contact and contact_kind
        else None,
        customer_id=customer_id,
        order_id=order_id,
        created_at=uow.now,
        updated_at=uow.now,
        last_message_at=uow.now,
        first_response_due=_due(team, uow.now, team.first_response_minutes),
        resolution_due=_due(team, uow.now, team.resolution_minutes),
        reopened=0,
    )
    uow.session.add(conversation)
    uow.session.flush()
    uow.record(ConversationOpened(conversation_id=conversation.id, channel=channel.value))
    return conversation


def add_message(
    uow: UnitOfWork,
    conversation: Conversation,
    *,
    direction: Direction,
    author: str,
    body: str,
    channel: str | None = None,
    sender: str | None = None,
    sender_kind: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    quoted_trimmed: bool = False,
    attachments: Sequence[NewAttachment] = (),
    attachments_refused: int = 0,
    sender_verified: bool | None = None,
) -> Message:
    """Adds one message and keeps the conversation's clock: a customer's message reopens a
    resolved conversation (a new resolution due time); the first reply to the customer sets
    ``first_response_at``."""
    if conversation.merged_into_id is not None:
        raise ConversationClosed(f"conversation {conversation.id} was merged")
    vault = uow.vault
    mentions = sorted(set(MENTION.findall(body))) if direction is Direction.NOTE else []
    message = Message(
        conversation_id=conversation.id,
        direction=direction.value,
        author=author,
        channel=channel or conversation.channel,
        message_id=message_id,
        in_reply_to=in_reply_to,
        sender_enc=vault.encrypt("support_sender", sender),
        sender_index=vault.blind_index(sender_kind, sender) if sender and sender_kind else None,
        body_enc=vault.encrypt("support_body", body) or "",
        quoted_trimmed=quoted_trimmed,
        mentions=mentions,
        attachments_refused=attachments_refused,
        created_at=uow.now,
        sent_at=None,
        sender_verified=sender_verified,
    )
    uow.session.add(message)
    uow.session.flush()
    for item in attachments:
        uow.session.add(
            Attachment(
                message_id=message.id,
                filename=item.filename[:255],
                content_type=item.content_type[:120],
                size=len(item.data),
                sha256=hashlib.sha256(item.data).hexdigest(),
                data_enc=vault.encrypt_bytes(ATTACHMENT_FIELD, item.data),
                created_at=uow.now,
            )
        )
    conversation.updated_at = uow.now
    if direction is Direction.IN:
        conversation.last_message_at = uow.now
        if conversation.status in (Status.RESOLVED.value, Status.CLOSED.value):
            _reopen(uow, conversation)
        elif conversation.status == Status.PENDING.value:
            _set_status(uow, conversation, Status.OPEN)
        uow.record(
            MessageReceived(
                conversation_id=conversation.id, message_id=message.id, channel=message.channel
            )
        )
    elif direction is Direction.OUT:
        conversation.last_message_at = uow.now
        if conversation.first_response_at is None:
            conversation.first_response_at = uow.now
        uow.record(
            ReplyQueued(
                conversation_id=conversation.id, message_id=message.id, channel=message.channel
            )
        )
    for handle in mentions:
        uow.record(
            AgentMentioned(conversation_id=conversation.id, message_id=message.id, handle=handle)
        )
    return message


def _reopen(uow: UnitOfWork, conversation: Conversation) -> None:
    team = uow.session.get(Team, conversation.team_id)
    assert team is not None
    conversation.reopened += 1
    conversation.resolved_at = None
    conversation.resolution_due = _due(team, uow.now, team.resolution_minutes)
    _set_status(uow, conversation, Status.OPEN)


def _set_status(uow: UnitOfWork, conversation: Conversation, status: Status) -> None:
    previous = conversation.status
    if previous == status.value:
        return
    conversation.status = status.value
    conversation.updated_at = uow.now
    if status in (Status.RESOLVED, Status.CLOSED) and conversation.resolved_at is None:
        conversation.resolved_at = uow.now
    if status in (Status.OPEN, Status.PENDING):
        conversation.resolved_at = None
    uow.record(
        StatusChanged(conversation_id=conversation.id, status=status.value, previous=previous)
    )


# --- reads -----------------------------------------------------------------------------------


def require(uow: UnitOfWork, conversation_id: int, *, lock: bool = False) -> Conversation:
    query = select(Conversation).where(Conversation.id == conversation_id)
    if lock:
        query = query.with_for_update()
    conversation = uow.session.scalar(query)
    if conversation is None:
        raise UnknownConversation(f"no conversation {conversation_id}")
    return conversation


def surviving(uow: UnitOfWork, conversation: Conversation) -> Conversation:
    """The conversation a merged one now lives in."""
    seen = {conversation.id}
    while conversation.merged_into_id is not None:
        conversation = require(uow, conversation.merged_into_id)
        if conversation.id in seen:
            break
        seen.add(conversation.id)
    return conversation


def message_read(
    vault: PiiVault, message: Message, files: Sequence[Attachment] = ()
) -> MessageRead:
    return MessageRead(
        id=message.id,
        direction=message.direction,
        author=message.author,
        channel=message.channel,
        sender=vault.decrypt("support_sender", message.sender_enc),
        body=vault.decrypt("support_body", message.body_enc) or "",
        created_at=message.created_at,
        sent_at=message.sent_at,
        message_id=message.message_id,
        quoted_trimmed=message.quoted_trimmed,
        mentions=list(message.mentions or []),
        attachments=[
            AttachmentRead(id=f.id, filename=f.filename, content_type=f.content_type, size=f.size)
            for f in files
        ],
        attachments_refused=message.attachments_refused,
        sender_verified=message.sender_verified,
    )


def messages_of(uow: UnitOfWork, conversation_id: int, *, after: int = 0) -> list[Message]:
    return list(
        uow.session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id > after)
            .order_by(Message.id)
        )
    )


def conversation_read(
    uow: UnitOfWork, conversation: Conversation, *, with_messages: bool = False
) -> ConversationRead:
    vault = uow.vault
    team = uow.session.get(Team, conversation.team_id)
    order = (
        orders.get_order_by_id(uow.session, conversation.order_id)
        if conversation.order_id
        else None
    )
    messages = None
    if with_messages:
        rows = messages_of(uow, conversation.id)
        files: dict[int, list[Attachment]] = {}
        if rows:
            for f in uow.session.scalars(
                select(Attachment)
                .where(Attachment.message_id.in_([m.id for m in rows]))
                .order_by(Attachment.id)
            ):
                files.setdefault(f.message_id, []).append(f)
        messages = [message_read(vault, m, files.get(m.id, ())) for m in rows]
    return ConversationRead(
        id=conversation.id,
        reference=conversation.reference,
        team=team.code if team else "",
        channel=conversation.channel,
        status=conversation.status,
        priority=conversation.priority,
        assignee_id=conversation.assignee_id,
        tags=list(conversation.tags or []),
        subject=vault.decrypt("support_subject", conversation.subject_enc),
        contact=vault.decrypt("support_contact", conversation.contact_enc),
        customer_id=conversation.customer_id,
        sender_verified=conversation.sender_verified,
        order_number=order.number if order is not None else None,
        fulfilment_id=conversation.fulfilment_id,
        return_request_code=conversation.return_request_code,
        merged_into_id=conversation.merged_into_id,
        created_at=conversation.created_at,
        last_message_at=conversation.last_message_at,
        first_response_at=conversation.first_response_at,
        resolved_at=conversation.resolved_at,
        first_response_due=conversation.first_response_due,
        resolution_due=conversation.resolution_due,
        first_response_breached=business_hours.breached(
            conversation.first_response_due, conversation.first_response_at, uow.now
        ),
        resolution_breached=business_hours.breached(
            conversation.resolution_due, conversation.resolved_at, uow.now
        ),
        reopened=conversation.reopened,
        messages=messages,
    )


def get_conversation(uow: UnitOfWork, conversation_id: int) -> ConversationRead:
    return conversation_read(uow, require(uow, conversation_id), with_messages=True)


def list_conversations(uow: UnitOfWork, query: ConversationQuery) -> list[ConversationRead]:
    stmt = select(Conversation).where(Conversation.merged_into_id.is_(None))
    if query.team:
        stmt = stmt.where(Conversation.team_id == team_by_code(uow, query.team).id)
    if query.status:
        stmt = stmt.where(Conversation.status == query.status)
    if query.assignee_id:
        stmt = stmt.where(Conversation.assignee_id == query.assignee_id)
    if query.unassigned:
        stmt = stmt.where(Conversation.assignee_id.is_(None))
    if query.channel:
        stmt = stmt.where(Conversation.channel == query.channel)
    if query.priority:
        stmt = stmt.where(Conversation.priority == query.priority)
    if query.customer_id:
        cluster = customers.cluster(uow, query.customer_id)
        stmt = stmt.where(Conversation.customer_id.in_(cluster))
    if query.breached:
        stmt = stmt.where(
            Conversation.status.in_((Status.OPEN.value, Status.PENDING.value)),
            (
                (
                    Conversation.first_response_at.is_(None)
                    & (Conversation.first_response_due < uow.now)
                )
                | (Conversation.resolution_due < uow.now)
            ),
        )
    stmt = stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    rows = list(uow.session.scalars(stmt.limit(query.limit if not query.tag else 5000)))
    if query.tag:
        rows = [r for r in rows if query.tag in (r.tags or [])][: query.limit]
    return [conversation_read(uow, r) for r in rows]


def count_open(uow: UnitOfWork) -> int:
    return int(
        uow.session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.status.in_((Status.OPEN.value, Status.PENDING.value)))
        )
        or 0
    )


# --- the desk's changes ----------------------------------------------------------------------


def set_status(uow: UnitOfWork, conversation_id: int, status: str) -> ConversationRead:
    conversation = _live(uow, conversation_id)
    if status == Status.OPEN.value and conversation.status in (
        Status.RESOLVED.value,
        Status.CLOSED.value,
    ):
        _reopen(uow, conversation)
    else:
        _set_status(uow, conversation, Status(status))
    return conversation_read(uow, conversation)


def desk_staff(uow: UnitOfWork) -> dict[int, str]:
    """Who a conversation can be assigned to, by id: active people who may work conversations
    (``support:write``); no customers, systems or store staff."""
    return {p.id: p.username or f"#{p.id}" for p in auth.people_who_may(uow, "support:write")}


def assign(
    uow: UnitOfWork, conversation_id: int, *, assignee_id: int | None, team: str | None
) -> ConversationRead:
    conversation = _live(uow, conversation_id)
    if assignee_id is not None and assignee_id not in desk_staff(uow):
        raise InvalidSupportRequest(
            f"principal {assignee_id} cannot be assigned a conversation: assignees are active"
            " staff who work the desk",
            field="assignee_id",
        )
    conversation.assignee_id = assignee_id
    if team:
        target = team_by_code(uow, team)
        if target.id != conversation.team_id:
            conversation.team_id = target.id
            conversation.first_response_due = _due(
                target, conversation.created_at, target.first_response_minutes
            )
            conversation.resolution_due = _due(
                target, conversation.created_at, target.resolution_minutes
            )
    conversation.updated_at = uow.now
    return conversation_read(uow, conversation)


def set_priority(uow: UnitOfWork, conversation_id: int, priority: str) -> ConversationRead:
    conversation = _live(uow, conversation_id)
    conversation.priority = Priority(priority).value
    conversation.updated_at = uow.now
    return conversation_read(uow, conversation)


def change_tags(
    uow: UnitOfWork, conversation_id: int, *, add: Sequence[str], remove: Sequence[str]
) -> ConversationRead:
    conversation = _live(uow, conversation_id)
    tags = [t for t in (conversation.tags or []) if t not in set(remove)]
    for tag in add:
        if tag not in tags:
            tags.append(tag.strip().lower())
    conversation.tags = tags
    conversation.updated_at = uow.now
    return conversation_read(uow, conversation)


_KEEP: Any = object()


def relink(
    uow: UnitOfWork,
    conversation_id: int,
    *,
    customer_id: Any = _KEEP,
    order_number: Any = _KEEP,
    fulfilment_id: Any = _KEEP,
    return_request_code: Any = _KEEP,
) -> ConversationRead:
    """An agent's re-link; each argument left out keeps its link, ``None`` clears it."""
    conversation = _live(uow, conversation_id)
    if customer_id is not _KEEP:
        if customer_id is not None and not customers.customer_exists(uow, customer_id):
            raise InvalidSupportRequest(f"no customer {customer_id}", field="customer_id")
        conversation.customer_id = (
            customers.resolve_id(uow, customer_id) if customer_id is not None else None
        )
    if order_number is not _KEEP:
        conversation.order_id = _order_id(uow, order_number) if order_number else None
    if fulfilment_id is not _KEEP:
        if fulfilment_id is not None and orders.get_fulfilment(uow.session, fulfilment_id) is None:
            raise InvalidSupportRequest(f"no fulfilment {fulfilment_id}", field="fulfilment_id")
        conversation.fulfilment_id = fulfilment_id
    if return_request_code is not _KEEP:
        conversation.return_request_code = (
            fulfilment.get_return_request(uow, return_request_code).code
            if return_request_code
            else None
        )
    conversation.updated_at = uow.now
    return conversation_read(uow, conversation)


def _order_id(uow: UnitOfWork, number: str) -> int:
    row = orders.get_order_by_number(uow.session, number.strip().upper())
    if row is None:
        raise InvalidSupportRequest(f"no order {number}", field="order_number")
    return int(row.id)


def _live(uow: UnitOfWork, conversation_id: int) -> Conversation:
    conversation = require(uow, conversation_id, lock=True)
    if conversation.merged_into_id is not None:
        raise ConversationClosed(
            f"conversation {conversation_id} was merged into {conversation.merged_into_id}"
        )
    return conversation


def require_message(uow: UnitOfWork, message_id: int) -> Message:
    message = uow.session.get(Message, message_id)
    if message is None:
        raise NotFound(f"no support message {message_id}")
    return message


def attachment_file(
    uow: UnitOfWork, conversation_id: int, attachment_id: int
) -> tuple[str, str, bytes]:
    """An attachment of the conversation as ``(filename, content type, bytes)``, unsealed."""
    row = uow.session.execute(
        select(Attachment)
        .join(Message, Message.id == Attachment.message_id)
        .where(Attachment.id == attachment_id, Message.conversation_id == conversation_id)
    ).scalar_one_or_none()
    if row is None:
        raise UnknownConversation(
            f"no attachment {attachment_id} in conversation {conversation_id}"
        )
    return row.filename, row.content_type, uow.vault.decrypt_bytes(ATTACHMENT_FIELD, row.data_enc)
