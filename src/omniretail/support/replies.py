"""What agents write: replies to the customer (on the conversation's channel; email goes out
through the outbox relay in the same thread), internal notes with mentions, canned replies
rendered in Jinja2's sandbox, and phone or in-store contacts logged by agents and
associates."""

from __future__ import annotations

import secrets
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from sqlalchemy import select

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.templates import BoundedImmutableSandbox, render_bounded
from omniretail.orders import service as orders
from omniretail.support.conversations import (
    _live,
    add_message,
    conversation_read,
    default_team,
    message_read,
    messages_of,
    open_conversation,
    team_by_code,
)
from omniretail.support.conversations import _set_status as set_status_of
from omniretail.support.errors import (
    CannedReplyExists,
    InvalidSupportRequest,
    TemplateRefused,
    UnknownCannedReply,
)
from omniretail.support.models import (
    CannedReply,
    Conversation,
    Direction,
    Message,
    Status,
    SupportChannel,
    Team,
)
from omniretail.support.schemas import (
    CannedReplyRead,
    CannedReplyWrite,
    ContactCreate,
    ConversationRead,
    MessageRead,
    NoteCreate,
    ReplyCreate,
)

_ENV = BoundedImmutableSandbox(undefined=StrictUndefined, autoescape=False)
VARIABLES = ("customer_name", "order_number", "reference", "agent", "team")


# --- canned replies --------------------------------------------------------------------------


def _render(template: str, variables: dict[str, Any]) -> str:
    try:
        return render_bounded(_ENV.from_string(template), **variables)
    except TemplateError as exc:
        raise TemplateRefused(f"the template cannot be rendered: {exc}", field="body") from exc


def list_canned(uow: UnitOfWork) -> list[CannedReplyRead]:
    rows = uow.session.scalars(select(CannedReply).order_by(CannedReply.code))
    return [CannedReplyRead.model_validate(r) for r in rows]


def _canned(uow: UnitOfWork, code: str) -> CannedReply:
    row = uow.session.scalar(select(CannedReply).where(CannedReply.code == code))
    if row is None:
        raise UnknownCannedReply(f"no canned reply {code!r}", field="canned")
    return row


def get_canned(uow: UnitOfWork, code: str) -> CannedReplyRead:
    return CannedReplyRead.model_validate(_canned(uow, code))


def put_canned(
    uow: UnitOfWork, code: str, data: CannedReplyWrite, *, create_only: bool = False
) -> CannedReplyRead:
    """Creates or replaces; the template must render with sample variables."""
    _render(data.body, {v: f"<{v}>" for v in VARIABLES})
    row = uow.session.scalar(select(CannedReply).where(CannedReply.code == code))
    if row is not None and create_only:
        raise CannedReplyExists(f"canned reply {code!r} exists", field="code")
    if row is None:
        row = CannedReply(code=code, created_at=uow.now, title="", body="", updated_at=uow.now)
        uow.session.add(row)
    row.title, row.body, row.updated_at = data.title, data.body, uow.now
    uow.session.flush()
    return CannedReplyRead.model_validate(row)


def delete_canned(uow: UnitOfWork, code: str) -> None:
    uow.session.delete(_canned(uow, code))


def canned_variables(uow: UnitOfWork, conversation: Conversation, agent: str) -> dict[str, Any]:
    name = None
    if conversation.customer_id is not None:
        name = customers.get_customer(uow, conversation.customer_id, vault=uow.vault).name
    order = (
        orders.get_order_by_id(uow.session, conversation.order_id)
        if conversation.order_id
        else None
    )
    team = uow.session.get(Team, conversation.team_id)
    return {
        "customer_name": name or "there",
        "order_number": order.number if order is not None else "",
        "reference": conversation.reference,
        "agent": agent.rsplit(":", 1)[-1],  # actors read "role:username"
        "team": team.name if team else "",
    }


def render_canned(uow: UnitOfWork, conversation_id: int, code: str, *, agent: str) -> str:
    conversation = _live(uow, conversation_id)
    return _render(_canned(uow, code).body, canned_variables(uow, conversation, agent))


# --- replies and notes -----------------------------------------------------------------------


def _last_inbound(uow: UnitOfWork, conversation_id: int) -> Message | None:
    return uow.session.scalar(
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.IN.value,
            Message.message_id.is_not(None),
        )
        .order_by(Message.id.desc())
        .limit(1)
    )


def reply(
    uow: UnitOfWork,
    conversation_id: int,
    data: ReplyCreate,
    *,
    author: str,
    domain: str = "omniretail",
) -> MessageRead:
    """The agent's reply on the conversation's channel; pending (waiting for the customer)
    unless ``data.status`` says resolved."""
    conversation = _live(uow, conversation_id)
    body = data.body
    if data.canned:
        body = _render(_canned(uow, data.canned).body, canned_variables(uow, conversation, author))
    if not body.strip():
        raise InvalidSupportRequest("a reply needs a body or a canned reply", field="body")
    last = _last_inbound(uow, conversation.id)
    message = add_message(
        uow,
        conversation,
        direction=Direction.OUT,
        author=author,
        body=body,
        channel=conversation.channel,
        message_id=None,
        in_reply_to=last.message_id if last is not None else None,
    )
    if conversation.channel == SupportChannel.EMAIL.value:
        # The random part is the reply token (``mail_auth``): a reply naming it is threaded.
        token = secrets.token_hex(12)
        message.message_id = f"<support-{conversation.reference}-{message.id}.{token}@{domain}>"
    set_status_of(uow, conversation, Status(data.status or Status.PENDING.value))
    uow.session.flush()
    return message_read(uow.vault, message)


def assistant_message(uow: UnitOfWork, conversation: Conversation, body: str) -> Message:
    """A reply written by the assistant (the ``hooks.Assistant`` port's answer)."""
    return add_message(uow, conversation, direction=Direction.OUT, author="assistant", body=body)


def note(uow: UnitOfWork, conversation_id: int, data: NoteCreate, *, author: str) -> MessageRead:
    conversation = _live(uow, conversation_id)
    message = add_message(
        uow, conversation, direction=Direction.NOTE, author=author, body=data.body
    )
    return message_read(uow.vault, message)


def log_contact(uow: UnitOfWork, data: ContactCreate, *, author: str) -> ConversationRead:
    """A phone call or in-store conversation: what the customer asked, as an inbound
    message written down by the agent or associate (author)."""
    team: Team = team_by_code(uow, data.team) if data.team else default_team(uow)
    customer_id = None
    if data.customer_id is not None:
        if not customers.customer_exists(uow, data.customer_id):
            raise InvalidSupportRequest(f"no customer {data.customer_id}", field="customer_id")
        customer_id = customers.resolve_id(uow, data.customer_id)
    order_id = None
    if data.order_number:
        row = orders.get_order_by_number(uow.session, data.order_number.strip().upper())
        if row is None:
            raise InvalidSupportRequest(f"no order {data.order_number}", field="order_number")
        order_id = int(row.id)
    kind = "email" if data.contact and "@" in data.contact else "phone" if data.contact else None
    conversation = open_conversation(
        uow,
        channel=SupportChannel(data.channel),
        team=team,
        subject=data.subject,
        contact_kind=kind,
        contact=data.contact,
        customer_id=customer_id,
        order_id=order_id,
    )
    add_message(
        uow,
        conversation,
        direction=Direction.IN,
        author=author,
        body=data.body,
        sender=data.contact,
        sender_kind=kind,
    )
    # Answered in person: the contact itself is the first response.
    conversation.first_response_at = uow.now
    if data.resolved:
        set_status_of(uow, conversation, Status.RESOLVED)
    uow.session.flush()
    return conversation_read(uow, conversation, with_messages=True)


__all__ = ["messages_of"]
