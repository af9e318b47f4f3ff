"""The relay handler that sends an agent's email reply in the customer's thread: the reply's
own Message-ID (stable, so a resend after a crash is recognisable), ``In-Reply-To`` the
customer's last message and ``References`` the thread's ids, the subject carrying the
conversation reference, and ``Reply-To`` the inbound address when one is set."""

from __future__ import annotations

from sqlalchemy import select

from omniretail.messaging.handlers import EventMeta, HandlerRegistry, SkipDelivery, UowFactory
from omniretail.messaging.mail import Email
from omniretail.messaging.senders import Senders
from omniretail.support.events import SEND_HANDLER, ReplyQueued
from omniretail.support.models import Conversation, Direction, Message, SupportChannel


def reply_subject(subject: str | None, reference: str) -> str:
    text = (subject or "Your message").strip()
    if not text.lower().startswith("re:"):
        text = f"Re: {text}"
    tag = f"[ref:{reference}]"
    return text if tag.lower() in text.lower() else f"{text} {tag}"


class ReplySender:
    def __init__(self, senders: Senders, reply_to: str | None) -> None:
        self.senders = senders
        self.reply_to = reply_to

    def __call__(self, event: ReplyQueued, meta: EventMeta, uow_factory: UowFactory) -> None:
        if event.channel != SupportChannel.EMAIL.value:
            return  # chat replies are read by the customer's page; social apps poll the API
        with uow_factory() as uow:
            message = uow.session.get(Message, event.message_id)
            if message is None:
                raise SkipDelivery(f"support message {event.message_id} no longer exists")
            if message.sent_at is not None:
                return
            conversation = uow.session.get(Conversation, message.conversation_id)
            assert conversation is not None
            vault = uow.vault
            to = vault.decrypt("support_contact", conversation.contact_enc)
            if not to or "@" not in to:
                raise SkipDelivery(f"conversation {conversation.id} has no email address")
            thread = [
                m
                for m in uow.session.scalars(
                    select(Message.message_id)
                    .where(
                        Message.conversation_id == conversation.id,
                        Message.message_id.is_not(None),
                        Message.direction != Direction.NOTE.value,
                        Message.id < message.id,
                    )
                    .order_by(Message.id)
                )
                if m and m.startswith("<")
            ]
            headers = {}
            if message.in_reply_to:
                headers["In-Reply-To"] = message.in_reply_to
            if thread:
                headers["References"] = " ".join(thread[-20:])
            if self.reply_to:
                headers["Reply-To"] = self.reply_to
            email = Email(
                to=to,
                subject=reply_subject(
                    vault.decrypt("support_subject", conversation.subject_enc),
                    conversation.reference,
                ),
                text=vault.decrypt("support_body", message.body_enc) or "",
                message_id=message.message_id,
                headers=headers,
            )
        self.senders.mailer.send(email)
        with uow_factory() as uow:
            stored = uow.session.get(Message, event.message_id)
            if stored is not None:
                stored.sent_at = uow.now


def install(registry: HandlerRegistry, senders: Senders, *, reply_to: str | None) -> None:
    registry.on(ReplyQueued, SEND_HANDLER, ReplySender(senders, reply_to))
