"""The assistant installed in the chat by the composition root (``support_assistant_in_chat``):
an order question is answered and tagged ``wismo``, a request for a person is handed over with
an internal note, an anonymous chat never learns an order's details, and a customer who wants
no more marketing is told how."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from starlette.routing import Match

from omniretail.app import create_app
from omniretail.bootstrap import build_container
from tests.customers.helpers import make_customer
from tests.orders.network import ok
from tests.support.helpers import API, customer_bearer, place_order

ANON = {"X-API-Key": ""}


def conversation_of(client: Any, reference: str) -> dict[str, Any]:
    rows = ok(client.get(f"{API}/support/conversations", params={"channel": "chat"}))
    [found] = [c for c in rows if c["reference"] == reference]
    return dict(ok(client.get(f"{API}/support/conversations/{found['id']}")))


def test_the_signed_in_owner_is_answered_and_the_chat_tagged_wismo(container, client):
    ada = make_customer(container, "Ada", email="ada@example.com", verified=True)
    order = place_order(container, client, ada)
    ada_key = customer_bearer(container, client, ada, "ada@example.com")
    started = ok(
        client.post(
            f"{API}/customers/{ada}/support/chats",
            json={"message": f"where is my order {order['number']}?"},
            headers=ada_key,
        ),
        201,
    )
    assert [m["author"] for m in started["messages"]] == ["you", "assistant"]
    answer = started["messages"][1]["body"]
    assert order["number"] in answer
    assert order["tracking_url"] in answer
    conversation = conversation_of(client, started["reference"])
    assert "wismo" in conversation["tags"]
    assert not [m for m in conversation["messages"] if m["direction"] == "note"]


def test_a_request_for_a_person_is_handed_over_with_a_note(container, client):
    started = ok(
        client.post(
            f"{API}/support/chats",
            json={"message": "I want to speak to a person"},
            headers=ANON,
        ),
        201,
    )
    assert [m["author"] for m in started["messages"]] == ["you"]
    conversation = conversation_of(client, started["reference"])
    notes = [m for m in conversation["messages"] if m["direction"] == "note"]
    assert len(notes) == 1
    assert notes[0]["author"] == "assistant"
    assert notes[0]["body"].startswith("Handed over by the assistant: intent human_agent")
    assert "(confidence 0." in notes[0]["body"] or "(confidence 1.00)" in notes[0]["body"]
    assert "wismo" not in conversation["tags"]
    assert conversation["status"] == "open"


def test_an_anonymous_chat_is_not_told_an_orders_details(container, client):
    ada = make_customer(container, "Ada", email="ada@example.com", verified=True)
    order = place_order(container, client, ada)
    started = ok(
        client.post(
            f"{API}/support/chats",
            json={"message": f"where is my order {order['number']}?"},
            headers=ANON,
        ),
        201,
    )
    conversation = conversation_of(client, started["reference"])
    assert conversation["order_number"] == order["number"]  # linked for the agent ...
    assert "wismo" in conversation["tags"]
    bodies = " ".join(m["body"] for m in started["messages"][1:])
    assert [m["author"] for m in started["messages"]] == ["you", "assistant"]
    # ... but the visitor is asked to verify, and sees no tracking link or state
    assert order["tracking_url"] not in bodies
    assert "expected by" not in bodies
    assert "email" in bodies.lower()


def test_a_customer_who_wants_no_more_marketing_is_told_how(container, client):
    """The unsubscribe link in every marketing message, the preferences page (a page the shop
    serves), and that order and service messages still come; the chat is not handed over."""
    for question in ("unsubscribe", "stop emails", "no more newsletters please"):
        started = ok(
            client.post(f"{API}/support/chats", json={"message": question}, headers=ANON), 201
        )
        assert [m["author"] for m in started["messages"]] == ["you", "assistant"], question
        answer = started["messages"][1]["body"]
        assert "unsubscribe link" in answer and "/account/privacy" in answer, answer
        assert "Messages about your orders" in answer and "still come" in answer
        conversation = conversation_of(client, started["reference"])
        assert not [m for m in conversation["messages"] if m["direction"] == "note"]
    scope = {"type": "http", "path": "/account/privacy", "method": "GET"}
    assert any(route.matches(scope)[0] is Match.FULL for route in client.app.routes)


def test_each_container_answers_with_its_own_assistant(container, client, clock):
    """The assistant is the container's port, not a process-wide one: a second container built
    with ``support_assistant_in_chat`` off leaves its chats to agents, and the first one's chat
    is still answered after it was built."""
    off = build_container(
        container.settings.model_copy(update={"support_assistant_in_chat": False}), clock=clock
    )
    try:
        assert off.assistant is None and container.assistant is not None
        with TestClient(create_app(off, background_sweep=False)) as other:
            waiting = ok(
                other.post(
                    f"{API}/support/chats", json={"message": "opening hours?"}, headers=ANON
                ),
                201,
            )
        answered = ok(
            client.post(f"{API}/support/chats", json={"message": "opening hours?"}, headers=ANON),
            201,
        )
    finally:
        off.dispose()
    assert [m["author"] for m in waiting["messages"]] == ["you"]
    assert [m["author"] for m in answered["messages"]] == ["you", "assistant"]
