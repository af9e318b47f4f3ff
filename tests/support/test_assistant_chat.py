"""The assistant installed in the chat by the composition root (``support_assistant_in_chat``):
an order question is answered and tagged ``wismo``, a request for a person is handed over with
an internal note, and an anonymous chat never learns an order's details."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from omniretail.support import service
from tests.customers.helpers import make_customer
from tests.orders.network import ok
from tests.support.helpers import API, customer_bearer, place_order

ANON = {"X-API-Key": ""}


@pytest.fixture(autouse=True)
def reset_assistant() -> Iterator[None]:
    yield
    service.set_assistant(None)


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
