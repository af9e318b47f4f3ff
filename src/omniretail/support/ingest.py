"""Inbound messages: an email (from the SMTP listener, the IMAP poller or a benchmark) or a
message from a social or messaging app, threaded into a conversation and linked to the
customer and the order.

Threading, in order: the Message-IDs in ``In-Reply-To`` and ``References`` that this desk
has seen (inbound or sent), then the conversation reference (``[ref:XXXXXXXX]`` in the subject
or ``+XXXXXXXX`` in the recipient address). A Message-ID seen before adds nothing (a
re-delivery); an email without one gets a digest of its bytes as its id.

Linking: the customer through a *verified* identity with an authenticated mail sender's
address (``customers.service.verified_email_owners``: one blind-index look-up; an address
verified by two different people links nobody); a social app's ``sender_email`` or
``sender_phone`` links nobody (nobody proved the sender owns it: an internal note keeps it
for the agent, who links by hand); the order through an order number (``OR-`` and ten
characters, as checkout writes them) or a tracking link (``/track/<token>``) in the subject or
the text, only when that order exists.

Quoted replies are cut by ``trim_quoted``: the first line of the common reply headers ("On
... wrote:", "-----Original Message-----", an Outlook "From:" block) or of a run of ``>``
lines ends the new text; a signature after "-- " is cut too. Good enough for the clients in
the tests; the full email is not kept."""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html import unescape

from sqlalchemy import select

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.orders import service as orders
from omniretail.support.assistant import AssistantConfig, email_auto_reply
from omniretail.support.conversations import (
    ORDER_NUMBER,
    TRACKING_LINK,
    NewAttachment,
    add_message,
    open_conversation,
    surviving,
    team_for_address,
)
from omniretail.support.mail_auth import is_reply_token, sender_authenticated
from omniretail.support.models import Conversation, Direction, Message, SupportChannel
from omniretail.support.replies import reply
from omniretail.support.schemas import Ingested, ReplyCreate, SocialMessage

REFERENCE = re.compile(r"\[ref:([2-9A-HJ-NP-TV-Z]{8})\]", re.IGNORECASE)
PLUS_REFERENCE = re.compile(r"\+([2-9A-HJ-NP-TV-Z]{8})@", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,290}>")
_QUOTE_HEADERS = re.compile(
    r"^(On\b.{0,200}\bwrote:\s*$"
    r"|-{2,}\s*Original Message\s*-{2,}"
    r"|_{5,}\s*$"
    r"|From:\s.+$"
    r"|Le\b.{0,200}\ba écrit\s*:\s*$"
    r"|Am\b.{0,200}\bschrieb\b.*:\s*$)",
    re.IGNORECASE,
)
_HIDDEN = re.compile(r"<(/?)(script|style)\b[^<>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")
_BREAK = re.compile(r"<br\b[^<>]*>|</(?:p|div)\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    attachment_bytes: int = 10 * 1024 * 1024
    message_bytes: int = 25 * 1024 * 1024
    # Whose Authentication-Results verdicts are believed (``mail_auth``); None: nobody's.
    trusted_authserv_id: str | None = None


def trim_quoted(text: str) -> tuple[str, bool]:
    """The new text of a reply, and whether quoted history was cut."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    cut = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if _QUOTE_HEADERS.match(stripped) and kept:
            cut = True
            break
        if stripped.startswith(">"):
            rest = [x for x in lines[i:] if x.strip()]
            if all(x.strip().startswith(">") for x in rest):
                cut = True
                break
        if line in ("-- ", "--") and kept:
            cut = True
            break
        kept.append(line)
    # "On ... wrote:" wrapped over two lines by the client
    while kept and kept[-1].strip().startswith("On ") and cut:
        kept.pop()
    body = "\n".join(kept).strip()
    return (body or text.strip()), cut and bool(body)


def _html_text(html: str) -> str:
    """The text of an HTML email, in one pass: script and style blocks dropped, other tags
    removed, entities decoded. A tag is matched only up to the next ``<`` or ``>`` (a pattern
    scanning to the end from every ``<`` took minutes of CPU on an email of unclosed tags)."""
    kept: list[str] = []
    at, hidden = 0, None  # hidden: the open script or style tag whose block is dropped
    for tag in _HIDDEN.finditer(html):
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if hidden is None and not closing:
            kept.append(html[at : tag.start()])
            at, hidden = tag.start(), name
        elif hidden is not None and closing and name == hidden:
            at, hidden = tag.end(), None
    kept.append(html[at:])  # an unclosed block keeps its text, as a browser shows it
    text = _TAG.sub("", _BREAK.sub("\n", "".join(kept)))
    return re.sub(r"\n{3,}", "\n\n", unescape(text)).strip()


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_subtype() == "html":
        return _html_text(str(content))
    return str(content)


def _ids(value: str | None) -> list[str]:
    return _MESSAGE_ID.findall(value or "")


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _attachments(message: EmailMessage, limits: Limits) -> tuple[list[NewAttachment], int]:
    kept: list[NewAttachment] = []
    refused = 0
    total = 0
    for part in message.iter_attachments():
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        if len(data) > limits.attachment_bytes or total + len(data) > limits.message_bytes:
            refused += 1
            continue
        total += len(data)
        kept.append(
            NewAttachment(
                filename=part.get_filename() or "attachment",
                content_type=part.get_content_type(),
                data=data,
            )
        )
    return kept, refused


def thread_of(
    uow: UnitOfWork, ids: Sequence[str], texts: Sequence[str]
) -> tuple[Conversation | None, bool]:
    """The conversation these Message-IDs or this reference belong to (the survivor of a
    merge), or None; and whether a reply token of ours named it (``mail_auth``)."""
    if ids:
        rows = uow.session.execute(
            select(Message.conversation_id, Message.message_id, Message.direction)
            .where(Message.message_id.in_(list(ids)))
            .order_by(Message.id.desc())
            .limit(len(ids))
        ).all()
        tokens = [
            r for r in rows if r.direction == Direction.OUT.value and is_reply_token(r.message_id)
        ]
        for row in [*tokens, *rows][:1]:
            found = uow.session.get(Conversation, row.conversation_id)
            if found is not None:
                return surviving(uow, found), bool(tokens)
    for text in texts:
        match = REFERENCE.search(text) or PLUS_REFERENCE.search(text)
        if match:
            found = uow.session.scalar(
                select(Conversation).where(Conversation.reference == match.group(1).upper())
            )
            if found is not None:
                return surviving(uow, found), False
    return None, False


def verified_customer(uow: UnitOfWork, address: str) -> int | None:
    """The one active customer who verified this email address (None: nobody, or several)."""
    if "@" not in address:
        return None
    owners = customers.verified_email_owners(uow, address, vault=uow.vault)
    roots = {customers.resolve_id(uow, cluster[0]) for _, cluster in owners if cluster}
    return roots.pop() if len(roots) == 1 else None


def mentioned_order(uow: UnitOfWork, *texts: str) -> int | None:
    """The first order named by number or tracking link in the texts that exists."""
    for text in texts:
        for number in ORDER_NUMBER.findall(text or ""):
            row = orders.get_order_by_number(uow.session, number)
            if row is not None:
                return int(row.id)
        for token in TRACKING_LINK.findall(text or ""):
            row = orders.get_order_by_token(uow.session, token)
            if row is not None:
                return int(row.id)
    return None


def _survivor_of(uow: UnitOfWork, conversation_id: int) -> Conversation:
    found = uow.session.get(Conversation, conversation_id)
    assert found is not None
    return surviving(uow, found)


def _same_sender(uow: UnitOfWork, conversation: Conversation, sender: str) -> bool:
    """An authenticated sender writing again on their own conversation."""
    if not sender or not conversation.sender_verified or conversation.contact_kind != "email":
        return False
    contact = uow.vault.decrypt("support_contact", conversation.contact_enc) or ""
    return contact.lower() == sender.lower()


def _fill_links(uow: UnitOfWork, conversation: Conversation, *texts: str) -> None:
    if conversation.order_id is None:
        conversation.order_id = mentioned_order(uow, *texts)


@dataclass(frozen=True)
class AutoReply:
    """The assistant's answer to a new email conversation (``support_assistant_email_auto_reply``):
    its configuration and the mail domain of the reply's Message-ID."""

    config: AssistantConfig
    domain: str = "omniretail"


def _auto_reply(
    uow: UnitOfWork, conversation: Conversation, text: str, sender: str, auto: AutoReply
) -> None:
    """Sends the assistant's confident answer through the agents' reply path (author
    ``assistant``); a handover or a question needing verification leaves the conversation
    open for an agent."""
    answer = email_auto_reply(uow, text, sender, config=auto.config)
    if answer:
        reply(
            uow, conversation.id, ReplyCreate(body=answer), author="assistant", domain=auto.domain
        )


def ingest_email(
    uow: UnitOfWork,
    raw: bytes,
    *,
    limits: Limits | None = None,
    auto_reply: AutoReply | None = None,
) -> Ingested:
    """Threads and links one inbound email (RFC 5322 bytes). Idempotent by Message-ID. With
    ``auto_reply``, a new conversation gets the assistant's answer when it is confident."""
    limits = limits or Limits()
    message = parse(raw)
    found_ids = _ids(str(message.get("Message-ID", "")))
    message_id = found_ids[0] if found_ids else None
    if message_id is None:
        message_id = f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@omniretail.invalid>"
    seen = uow.session.execute(
        select(Message.id, Message.conversation_id).where(Message.message_id == message_id)
    ).first()
    if seen is not None:
        earlier = _survivor_of(uow, seen.conversation_id)
        return Ingested(
            conversation_id=earlier.id,
            reference=earlier.reference,
            message_id=None,
            created=False,
            duplicate=True,
        )
    subject = str(message.get("Subject", "") or "").strip()
    sender = parseaddr(str(message.get("Reply-To") or message.get("From") or ""))[1].strip()
    recipients = [a for _, a in getaddresses([str(v) for v in message.get_all("To", []) or []])]
    recipients += [a for _, a in getaddresses([str(v) for v in message.get_all("Cc", []) or []])]
    in_reply_to = _ids(str(message.get("In-Reply-To", "")))
    references = _ids(str(message.get("References", "")))
    text, trimmed = trim_quoted(_text_of(message))
    files, refused = _attachments(message, limits)
    author_address = parseaddr(str(message.get("From") or ""))[1].strip()
    authenticated = author_address.lower() == sender.lower() and sender_authenticated(
        message, author_address, limits.trusted_authserv_id
    )
    conversation, by_token = thread_of(
        uow, [*in_reply_to, *reversed(references)], [subject, *recipients]
    )
    if (
        conversation is not None
        and not by_token
        and not (authenticated and _same_sender(uow, conversation, sender))
    ):
        conversation = None  # a reference or Message-ID anyone may know: not proof enough
    created = conversation is None
    if conversation is None:
        conversation = open_conversation(
            uow,
            channel=SupportChannel.EMAIL,
            team=team_for_address(uow, recipients),
            subject=subject[:500] or None,
            contact_kind="email" if sender else None,
            contact=sender or None,
            customer_id=verified_customer(uow, sender) if authenticated else None,
        )
        conversation.sender_verified = authenticated
    elif conversation.customer_id is None and authenticated:
        conversation.customer_id = verified_customer(uow, sender)
    _fill_links(uow, conversation, subject, text)
    stored = add_message(
        uow,
        conversation,
        direction=Direction.IN,
        author="customer",
        channel=SupportChannel.EMAIL.value,
        body=text or "(no text)",
        sender=sender or None,
        sender_kind="email" if sender else None,
        message_id=message_id,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        quoted_trimmed=trimmed,
        attachments=files,
        attachments_refused=refused,
        sender_verified=authenticated,
    )
    if created and auto_reply is not None and sender and text:
        _auto_reply(uow, conversation, text, sender, auto_reply)
    return Ingested(
        conversation_id=conversation.id,
        reference=conversation.reference,
        message_id=stored.id,
        created=created,
        duplicate=False,
    )


def ingest_social(uow: UnitOfWork, item: SocialMessage) -> Ingested:
    """One message from a social or messaging app (the signed webhook); idempotent by the
    app's message id. Threads by the app's thread id, else by the sender's handle's open
    conversation."""
    message_id = f"social:{item.app}:{item.message_id}"[:300]
    seen = uow.session.execute(
        select(Message.conversation_id).where(Message.message_id == message_id)
    ).first()
    if seen is not None:
        earlier = _survivor_of(uow, seen.conversation_id)
        return Ingested(
            conversation_id=earlier.id,
            reference=earlier.reference,
            message_id=None,
            created=False,
            duplicate=True,
        )
    handle = f"{item.app}:{item.sender}"
    vault = uow.vault
    thread_key = f"social:{item.app}:thread:{item.thread_id}" if item.thread_id else None
    conversation: Conversation | None = None
    if thread_key:
        earlier_id = uow.session.scalar(
            select(Message.conversation_id).where(Message.in_reply_to == thread_key).limit(1)
        )
        found = uow.session.get(Conversation, earlier_id) if earlier_id is not None else None
        conversation = surviving(uow, found) if found is not None else None
    if conversation is None:
        conversation = uow.session.scalar(
            select(Conversation)
            .where(
                Conversation.contact_index == vault.blind_index("social", handle),
                Conversation.channel == SupportChannel.SOCIAL.value,
                Conversation.status.in_(("open", "pending")),
                Conversation.merged_into_id.is_(None),
            )
            .order_by(Conversation.id.desc())
            .limit(1)
        )
    created = conversation is None
    if conversation is None:
        conversation = open_conversation(
            uow,
            channel=SupportChannel.SOCIAL,
            subject=f"{item.app}: {item.text[:80]}",
            contact_kind="social",
            contact=handle,
        )
        if item.sender_email:
            # the app's word for the sender's email: nobody proved the sender owns it
            conversation.sender_verified = False
    _fill_links(uow, conversation, item.text)
    stored = add_message(
        uow,
        conversation,
        direction=Direction.IN,
        author="customer",
        channel=SupportChannel.SOCIAL.value,
        body=item.text,
        sender=handle,
        sender_kind="social",
        message_id=message_id,
        in_reply_to=thread_key,
    )
    if created and (item.sender_email or item.sender_phone):
        _note_claimed_contact(uow, conversation, item)
    return Ingested(
        conversation_id=conversation.id,
        reference=conversation.reference,
        message_id=stored.id,
        created=created,
        duplicate=False,
    )


def _note_claimed_contact(uow: UnitOfWork, conversation: Conversation, item: SocialMessage) -> None:
    """The email or phone the app passes for the sender, for the agent only (an internal
    note), as the public chat keeps an address typed in it: the app did not prove the
    sender owns them, so they link no customer; the agent links one by hand (``relink``)
    after checking who is writing."""
    given = " and ".join(
        f"{what} {value}"
        for what, value in (("email", item.sender_email), ("phone", item.sender_phone))
        if value
    )
    add_message(
        uow,
        conversation,
        direction=Direction.NOTE,
        author="webhook",
        body=f"{item.app} gives the sender's {given}. Nobody proved they are the sender's, so"
        " no customer is linked: link one by hand after checking who is writing.",
    )
