"""A spoofed From (security probe) reaches no customer's thread or profile: an email joins an
existing conversation only with our reply token (the random Message-ID of the desk's reply)
or, from the same authenticated sender, with the reference; a sender is authenticated only by
the trusted server's Authentication-Results; anything else opens a new conversation marked
unverified sender, linked to nobody."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from omniretail.bootstrap import Container
from omniretail.support import mail_in
from omniretail.support.models import Conversation, Message
from omniretail.support.replies import reply
from omniretail.support.schemas import ReplyCreate
from tests.customers.helpers import make_customer
from tests.support.helpers import TRUSTED_MX, email

ADA = "Ada Lovelace <ada@example.com>"


def ingest(container: Container, message: Any) -> Any:
    return mail_in.ingest_one(container, bytes(message))


def messages_in(container: Container, conversation_id: int) -> int:
    with container.read_uow() as uow:
        query = select(func.count()).where(Message.conversation_id == conversation_id)
        return int(uow.session.scalar(query) or 0)


def conversation(container: Container, conversation_id: int) -> Conversation:
    with container.read_uow() as uow:
        found = uow.session.get(Conversation, conversation_id)
        assert found is not None
        return found


@pytest.fixture
def thread(container: Container) -> tuple[int, int, str, str, str]:
    """Ada's authenticated email and the desk's reply: (customer, conversation, reference,
    Ada's Message-ID, the reply's Message-ID)."""
    container.settings.support_mail_authserv_id = TRUSTED_MX
    ada = make_customer(container, "Ada Lovelace", email="ada@example.com", verified=True)
    first = email(sender=ADA, subject="My order", body="Where is it?", authenticated_by=TRUSTED_MX)
    opened = ingest(container, first)
    assert conversation(container, opened.conversation_id).customer_id == ada
    with container.uow() as uow:
        sent = reply(uow, opened.conversation_id, ReplyCreate(body="On its way"), author="agent")
    assert sent.message_id is not None
    return ada, opened.conversation_id, opened.reference, str(first["Message-ID"]), sent.message_id


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no verdict"),
        pytest.param({"authenticated_by": "mx.attacker.example"}, id="untrusted server"),
    ],
)
def test_a_spoofed_from_with_the_reference_and_known_ids_opens_an_unverified_conversation(
    container: Container, thread: tuple[int, int, str, str, str], headers: dict[str, str]
) -> None:
    _ada, conversation_id, reference, ada_id, reply_id = thread
    before = messages_in(container, conversation_id)
    guessable = reply_id.split(".", 1)[0] + "@omniretail>"  # the old, guessable form
    spoof = email(
        sender=ADA,
        subject=f"Re: My order [ref:{reference}] change my address",
        body="Send it to 1 Thief Lane.",
        in_reply_to=ada_id,
        references=f"{ada_id} {guessable}",
        to=f"help+{reference}@shop.example",
        **headers,
    )
    landed = ingest(container, spoof)
    assert landed.created is True
    assert landed.conversation_id != conversation_id
    assert messages_in(container, conversation_id) == before
    opened = conversation(container, landed.conversation_id)
    assert opened.customer_id is None
    assert opened.sender_verified is False


def test_a_verdict_for_another_domain_does_not_vouch_for_the_from(
    container: Container, thread: tuple[int, int, str, str, str]
) -> None:
    spoof = email(sender=ADA, subject="Hello", body="It is me")
    spoof["Authentication-Results"] = f"{TRUSTED_MX}; dkim=pass header.d=attacker.example"
    landed = ingest(container, spoof)
    assert conversation(container, landed.conversation_id).customer_id is None
    assert conversation(container, landed.conversation_id).sender_verified is False


def test_a_reply_with_our_token_joins_its_thread_without_a_verdict(
    container: Container, thread: tuple[int, int, str, str, str]
) -> None:
    ada, conversation_id, _reference, _ada_id, reply_id = thread
    answer = email(sender=ADA, subject="Re: My order", body="Thanks!", in_reply_to=reply_id)
    landed = ingest(container, answer)
    assert (landed.conversation_id, landed.created) == (conversation_id, False)
    assert conversation(container, conversation_id).customer_id == ada


def test_the_same_authenticated_sender_threads_by_reference(
    container: Container, thread: tuple[int, int, str, str, str]
) -> None:
    _ada, conversation_id, reference, _, _ = thread
    again = email(
        sender=ADA, subject=f"Again [ref:{reference}]", body="?", authenticated_by=TRUSTED_MX
    )
    landed = ingest(container, again)
    assert (landed.conversation_id, landed.created) == (conversation_id, False)


def test_without_a_trusted_server_no_sender_is_linked(container: Container) -> None:
    make_customer(container, "Ada Lovelace", email="ada@example.com", verified=True)
    assert container.settings.support_mail_authserv_id is None
    landed = ingest(container, email(sender=ADA, body="Hi", authenticated_by=TRUSTED_MX))
    assert conversation(container, landed.conversation_id).customer_id is None


def test_a_message_threaded_by_token_keeps_its_own_unverified_sender(
    container: Container, client: Any, thread: tuple[int, int, str, str, str]
) -> None:
    """The conversation began with Ada's authenticated mail; a mail with our token but no
    verdict joins it, and is shown unverified itself."""
    _ada, conversation_id, _reference, _ada_id, reply_id = thread
    answer = email(sender=ADA, subject="Re: My order", body="Refund me", in_reply_to=reply_id)
    assert ingest(container, answer).conversation_id == conversation_id
    assert conversation(container, conversation_id).sender_verified is True
    read = client.get(f"/api/v1/support/conversations/{conversation_id}")
    assert read.status_code == 200, read.text
    incoming = [
        (m["body"], m["sender_verified"]) for m in read.json()["messages"] if m["direction"] == "in"
    ]
    assert incoming == [("Where is it?", True), ("Refund me", False)]
