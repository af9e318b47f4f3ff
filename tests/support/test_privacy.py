"""Erasure: a person's conversations go with their messages and attachments."""

from __future__ import annotations

from sqlalchemy import func, select

from omniretail.support import service
from omniretail.support.models import Attachment, Conversation, Message
from tests.customers.helpers import make_customer
from tests.support.helpers import email


def test_forget_customer_deletes_their_conversations_only(container):
    ada = make_customer(container, "Ada", email="ada@example.com", verified=True)
    with container.uow() as uow:
        mine = service.ingest_email(
            uow, email(body="about me", attachments=[("a.txt", b"x")]).as_bytes()
        )
        service.ingest_email(uow, email(sender="bob@example.com", body="about Bob").as_bytes())
        service.ingest_email(uow, email(sender="ada.other@example.com", body="other").as_bytes())
    assert mine.conversation_id
    with container.uow() as uow:
        gone = service.forget_customer(uow, [ada], [("email", "ADA.other@example.com")])
    assert gone == 2
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Conversation)) == 1
        assert uow.session.scalar(select(func.count()).select_from(Message)) == 1
        assert uow.session.scalar(select(func.count()).select_from(Attachment)) == 0
