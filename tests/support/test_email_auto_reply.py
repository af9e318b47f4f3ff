"""The assistant's auto-reply to a new email conversation (``support_assistant_email_auto_reply``):
a confident answer goes out through the agents' reply path, in the thread, by ``assistant``; a
request for a person, an unverifiable sender or the setting off leaves it to an agent."""

from __future__ import annotations

from typing import Any

from omniretail.bootstrap import Container
from omniretail.support import mail_in
from tests.customers.helpers import make_customer
from tests.orders.network import ok
from tests.support.helpers import API, email, place_order


def auto_reply_on(container: Container) -> None:
    container.settings = container.settings.model_copy(
        update={"support_assistant_email_auto_reply": True}
    )


def conversation(client: Any, conversation_id: int) -> dict[str, Any]:
    return dict(ok(client.get(f"{API}/support/conversations/{conversation_id}")))


def test_a_confident_answer_is_sent_in_the_thread(container, client):
    ada = make_customer(container, "Ada Lovelace", email="ada@example.com", verified=True)
    order = place_order(container, client, ada)
    auto_reply_on(container)
    sent = email(sender="Ada <ada@example.com>", body=f"Hi, where is my order {order['number']}?")
    result = mail_in.ingest_one(container, sent.as_bytes())
    read = conversation(client, result.conversation_id)
    out = [m for m in read["messages"] if m["direction"] == "out"]
    assert len(out) == 1
    assert out[0]["author"] == "assistant"
    assert order["number"] in out[0]["body"]
    assert read["status"] == "pending"  # as after an agent's reply: waiting for the customer

    # the customer's answer to it, in the thread (its Message-ID is the reply token), is not
    # auto-replied again
    again = email(
        sender="Ada <ada@example.com>",
        body=f"where is my order {order['number']} now?",
        in_reply_to=out[0]["message_id"],
        references=str(sent["Message-ID"]),
    )
    threaded = mail_in.ingest_one(container, again.as_bytes())
    assert threaded.conversation_id == result.conversation_id
    read = conversation(client, result.conversation_id)
    assert len([m for m in read["messages"] if m["direction"] == "out"]) == 1


def test_a_handover_or_a_stranger_is_left_to_an_agent(container, client):
    ada = make_customer(container, "Ada Lovelace", email="ada@example.com", verified=True)
    order = place_order(container, client, ada)
    auto_reply_on(container)
    person = mail_in.ingest_one(
        container, email(body="I want to speak to a person about a complaint").as_bytes()
    )
    stranger = mail_in.ingest_one(
        container,
        email(sender="eve@example.com", body=f"where is my order {order['number']}?").as_bytes(),
    )
    for result in (person, stranger):
        read = conversation(client, result.conversation_id)
        assert [m["direction"] for m in read["messages"]] == ["in"]
        assert read["status"] == "open"


def test_off_by_default(container, client):
    ada = make_customer(container, "Ada Lovelace", email="ada@example.com", verified=True)
    order = place_order(container, client, ada)
    result = mail_in.ingest_one(
        container,
        email(sender="ada@example.com", body=f"where is my order {order['number']}?").as_bytes(),
    )
    read = conversation(client, result.conversation_id)
    assert [m["direction"] for m in read["messages"]] == ["in"]
