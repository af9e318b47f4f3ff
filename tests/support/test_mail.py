"""Email in and out, over real SMTP: a mail client (smtplib) sends into the support listener
(aiosmtpd); the conversation is threaded and linked to the customer (verified email) and
the order (its number in the subject); a re-delivery adds nothing; an agent's reply goes out
through the relay to a real SMTP server, in the customer's thread; the customer's answer
threads back by In-Reply-To and reopens a resolved conversation."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from omniretail.bootstrap import Container
from omniretail.messaging.mail import SmtpConfig, SmtpMailer
from omniretail.support import mail_in, service
from omniretail.support.models import Attachment, Conversation, Message
from tests.customers.helpers import make_customer
from tests.drain import drain
from tests.loopback import free_port
from tests.orders.network import ok
from tests.support.helpers import API, TRUSTED_MX, email, place_order

SUPPORT = "help@shop.example"


@pytest.fixture
def listener(container: Container) -> Iterator[tuple[str, int]]:
    # the mail server in front of the desk, whose Authentication-Results are believed
    container.settings.support_mail_authserv_id = TRUSTED_MX
    controller = mail_in.listener(container, "127.0.0.1", free_port())
    controller.start()
    try:
        yield controller.hostname, controller.port
    finally:
        controller.stop()


def send(listener: tuple[str, int], message: Any) -> None:
    with smtplib.SMTP(*listener, timeout=10) as smtp:
        smtp.send_message(message)


def counts(container: Container) -> tuple[int, int]:
    with container.read_uow() as uow:
        return (
            int(uow.session.scalar(select(func.count()).select_from(Conversation)) or 0),
            int(uow.session.scalar(select(func.count()).select_from(Message)) or 0),
        )


def test_an_email_is_threaded_linked_and_answered_in_its_thread(
    container, client, listener, smtp_server
):
    container.senders.mailer = SmtpMailer(
        SmtpConfig(host=smtp_server.host, port=smtp_server.port, sender=f"Shop <{SUPPORT}>")
    )
    ada = make_customer(container, "Ada Lovelace", email="ada@example.com", verified=True)
    order = place_order(container, client, ada)
    number = order["number"]

    first = email(
        subject=f"Where is my order {number}?",
        body="Hi, my parcel has not arrived.\n\nThanks, Ada",
        to=SUPPORT,
        authenticated_by=TRUSTED_MX,
    )
    send(listener, first)
    assert counts(container) == (1, 1)

    listed = ok(client.get(f"{API}/support/conversations"))
    assert len(listed) == 1
    conversation = listed[0]
    assert conversation["customer_id"] == ada
    assert conversation["sender_verified"] is True
    assert conversation["order_number"] == number
    assert conversation["channel"] == "email"
    assert conversation["status"] == "open"
    assert conversation["contact"] == "ada@example.com"

    # the same message delivered again (a retrying MTA): nothing new
    send(listener, first)
    assert counts(container) == (1, 1)

    # the agent answers; the relay sends it by SMTP in the thread
    reply = ok(
        client.post(
            f"{API}/support/conversations/{conversation['id']}/replies",
            json={"body": "It is on its way and arrives tomorrow.", "status": "resolved"},
        ),
        201,
    )
    drain(container)
    # (the order confirmation went out too)
    # (and, as the reply resolved it, the satisfaction survey in the same thread)
    in_thread = [r for r in smtp_server.received if "[ref:" in str(r[2]["Subject"])]
    assert len(in_thread) == 2
    assert "/survey/" in in_thread[1][2].get_content()
    replies = [r for r in in_thread if r[2]["Message-ID"] == reply["message_id"]]
    assert len(replies) == 1
    _, rcpts, sent = replies[0]
    assert rcpts == ["ada@example.com"]
    assert sent["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in sent["References"]
    assert sent["Message-ID"] == reply["message_id"]
    assert f"[ref:{conversation['reference']}]" in sent["Subject"]
    assert "arrives tomorrow" in sent.get_content()
    got = ok(client.get(f"{API}/support/conversations/{conversation['id']}"))
    assert got["status"] == "resolved"
    assert got["first_response_at"] is not None
    assert got["messages"][-1]["sent_at"] is not None

    # the customer answers the reply, quoting it: threaded by In-Reply-To (our Message-ID is
    # the reply token), reopened
    answer = email(
        subject=f"Re: {sent['Subject']}",
        body="It still has not come.\n\nOn Sat, 5 Dec 2026, Shop wrote:\n> It is on its way",
        in_reply_to=sent["Message-ID"],
        references=f"{first['Message-ID']} {sent['Message-ID']}",
    )
    send(listener, answer)
    assert counts(container) == (1, 4)  # in, reply, survey, answer
    got = ok(client.get(f"{API}/support/conversations/{conversation['id']}"))
    assert got["status"] == "open"
    assert got["reopened"] == 1
    last = got["messages"][-1]
    assert last["body"] == "It still has not come."
    assert last["quoted_trimmed"] is True


def test_the_reference_threads_an_authenticated_sender_and_strangers_are_not_linked(
    container, client, listener
):
    make_customer(container, "Ada Lovelace", email="ada@example.com", verified=False)
    send(
        listener,
        email(subject="A question", body="Do you sell gift cards?", authenticated_by=TRUSTED_MX),
    )
    conversation = ok(client.get(f"{API}/support/conversations"))[0]
    # only a verified identity links the customer
    assert conversation["customer_id"] is None
    assert conversation["order_number"] is None
    # a new email (no In-Reply-To) from the same authenticated sender carrying the reference
    # lands in the same conversation
    again = email(
        subject=f"Again [ref:{conversation['reference']}]",
        body="Anyone?",
        authenticated_by=TRUSTED_MX,
    )
    send(listener, again)
    assert counts(container) == (1, 2)
    # without it, a new conversation
    send(listener, email(subject="Something else", body="Another matter"))
    assert counts(container) == (2, 3)


def test_attachments_within_the_limits_are_kept(container, client, listener):
    container.settings.support_attachment_max_bytes = 1000
    container.settings.support_message_max_bytes = 1500
    controller = mail_in.listener(container, "127.0.0.1", free_port())
    controller.start()
    try:
        send(
            (controller.hostname, controller.port),
            email(
                body="Photos of the damage",
                attachments=[("a.jpg", b"a" * 800), ("b.jpg", b"b" * 2000), ("c.jpg", b"c" * 800)],
            ),
        )
    finally:
        controller.stop()
    conversation = ok(client.get(f"{API}/support/conversations"))[0]
    message = ok(client.get(f"{API}/support/conversations/{conversation['id']}"))["messages"][0]
    # b is over the per-file limit; c would take the message over its limit
    assert [a["filename"] for a in message["attachments"]] == ["a.jpg"]
    assert message["attachments_refused"] == 2
    with container.read_uow() as uow:
        stored = uow.session.scalars(select(Attachment)).all()
        assert [uow.vault.decrypt_bytes("support_attachment", a.data_enc) for a in stored] == [
            b"a" * 800
        ]


def test_bodies_and_senders_are_ciphertext_at_rest(container, client, listener):
    send(listener, email(body="My secret address is 1 Main Street"))
    with container.read_uow() as uow:
        row = uow.session.scalars(select(Message)).one()
        assert "Main Street" not in row.body_enc
        assert "ada@example.com" not in (row.sender_enc or "")
        assert row.sender_index is not None


def test_an_email_to_a_team_address_lands_in_that_team(container, client):
    ok(
        client.put(
            f"{API}/support/teams/returns",
            json={"name": "Returns", "address": "Returns@Shop.example", "hours": {}},
        )
    )
    with container.uow() as uow:
        service.ingest_email(uow, email(to="returns@shop.example", body="a return").as_bytes())
        service.ingest_email(uow, email(to="other@shop.example", body="other").as_bytes())
    teams = [c["team"] for c in ok(client.get(f"{API}/support/conversations"))]
    assert sorted(teams) == ["general", "returns"]
    returns = ok(client.get(f"{API}/support/conversations", params={"team": "returns"}))
    # no opening hours: the SLA clock runs around the clock (240 minutes)
    opened = datetime.fromisoformat(returns[0]["created_at"])
    assert datetime.fromisoformat(returns[0]["first_response_due"]) == opened + timedelta(
        minutes=240
    )
