"""Erasure: a person's conversations go with their messages and attachments."""

from __future__ import annotations

from sqlalchemy import func, select

from omniretail.support import service
from omniretail.support.models import Attachment, Conversation, Message
from omniretail.support.service import Limits
from tests.customers.helpers import make_customer
from tests.support.helpers import TRUSTED_MX, email


def test_forget_customer_deletes_their_conversations_only(container):
    ada = make_customer(container, "Ada", email="ada@example.com", verified=True)
    with container.uow() as uow:
        mine = service.ingest_email(
            uow,
            email(
                body="about me", attachments=[("a.txt", b"x")], authenticated_by=TRUSTED_MX
            ).as_bytes(),
            limits=Limits(trusted_authserv_id=TRUSTED_MX),
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


def test_the_export_shows_the_persons_conversations_and_erasure_removes_them(container, client):
    ada = make_customer(container, "Ada", email="ada@example.com", verified=True)
    with container.uow() as uow:
        service.ingest_email(
            uow, email(body="about my parcel", attachments=[("a.txt", b"x")]).as_bytes()
        )
        service.ingest_email(uow, email(sender="bob@example.com", body="about Bob").as_bytes())
        service.ingest_email(uow, email(sender="eve@example.com", body="Eve's").as_bytes())
    # an address on a profile only unverified is not the person's (it may be someone else's)
    eve = make_customer(container, "Eve", email="bob@example.com", verified=False)

    document = client.get(f"/api/v1/customers/{ada}/export")
    assert document.status_code == 200, document.text
    (conversation,) = document.json()["support"]
    assert conversation["channel"] == "email"
    assert conversation["contact"] == "ada@example.com"
    (message,) = conversation["messages"]
    assert message["body"] == "about my parcel"
    assert message["attachments"] == [
        {"filename": "a.txt", "content_type": "application/octet-stream", "size": 1}
    ]
    assert client.get(f"/api/v1/customers/{eve}/export").json()["support"] == []

    erased = client.post(f"/api/v1/customers/{ada}/erase")
    assert erased.status_code == 200, erased.text
    assert erased.json()["summary"]["support_conversations_deleted"] == 1
    erased = client.post(f"/api/v1/customers/{eve}/erase")
    assert erased.json()["summary"]["support_conversations_deleted"] == 0
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Conversation)) == 2
        assert uow.session.scalar(select(func.count()).select_from(Attachment)) == 0
