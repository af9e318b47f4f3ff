"""Chat, the signed webhook and the desk, through the API: a visitor's chat with the
assistant hook and server-sent events, a signed-in customer's chat and what others cannot
see, the webhook's signature (good, bad, replayed), phone and in-store contacts, notes with
mentions, canned replies, re-link, merge and split, and the roles."""

from __future__ import annotations

import json

from pydantic import SecretStr

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.support import service
from omniretail.support.hooks import AssistantRequest
from tests.customers.helpers import make_customer
from tests.orders.network import make_orders_network, ok
from tests.support.helpers import API, customer_bearer, key_for, place_order

ANON = {"X-API-Key": ""}
SECRET = "s3cret-shared-with-the-app"


def sse_events(text: str) -> list[dict[str, object]]:
    events = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":"
        )
        if fields.get("event") == "message":
            events.append({"id": int(fields["id"]), **json.loads(fields["data"])})
    return events


def test_a_visitor_chats_the_assistant_answers_and_events_stream(container, client):
    asked: list[AssistantRequest] = []

    def assistant(_uow: object, request: AssistantRequest) -> str | None:
        asked.append(request)
        return "Our stores open at 9." if "open" in request.text else None

    container.assistant = assistant  # the port the chat routes hand the chat use cases
    started = ok(
        client.post(
            f"{API}/support/chats",
            json={"message": "When do you open?", "email": "v@example.com"},
            headers=ANON,
        ),
        201,
    )
    token = started["token"]
    assert [m["author"] for m in started["messages"]] == ["you", "assistant"]
    assert started["messages"][1]["body"] == "Our stores open at 9."
    assert asked[0].customer_id is None

    # the assistant hands over (None): an agent answers, and writes a note the visitor never sees
    posted = ok(
        client.post(
            f"{API}/support/chats/{token}/messages",
            json={"message": "A person please"},
            headers=ANON,
        ),
        201,
    )
    assert [m["author"] for m in posted["messages"]] == ["you", "assistant", "you"]
    conversation = ok(client.get(f"{API}/support/conversations", params={"channel": "chat"}))[0]
    ok(
        client.post(
            f"{API}/support/conversations/{conversation['id']}/notes", json={"body": "VIP? @sam"}
        ),
        201,
    )
    ok(
        client.post(
            f"{API}/support/conversations/{conversation['id']}/replies",
            json={"body": "Hello, Sam here."},
        ),
        201,
    )

    seen = ok(client.get(f"{API}/support/chats/{token}/messages", headers=ANON))
    assert [m["body"] for m in seen["messages"]][-1] == "Hello, Sam here."
    assert all("VIP" not in m["body"] for m in seen["messages"])

    # server-sent events: every visible message after the cursor, ids for Last-Event-ID
    after = seen["messages"][1]["id"]
    with client.stream(
        "GET",
        f"{API}/support/chats/{token}/events",
        params={"after": after, "seconds": 1},
        headers=ANON,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    events = sse_events(body)
    assert [e["body"] for e in events] == ["A person please", "Hello, Sam here."]
    assert all(e["id"] > after for e in events)

    # a wrong token sees nothing
    r = client.get(f"{API}/support/chats/{'x' * 40}/messages", headers=ANON)
    assert r.status_code == 404


def test_a_signed_in_customer_chat_is_linked_and_only_theirs(container, client):
    ada = make_customer(container, "Ada", email="ada@example.com", verified=True)
    bob = make_customer(container, "Bob", email="bob@example.com", verified=True)
    ada_key = customer_bearer(container, client, ada, "ada@example.com")
    started = ok(
        client.post(
            f"{API}/customers/{ada}/support/chats", json={"message": "Hi"}, headers=ada_key
        ),
        201,
    )
    conversation = ok(client.get(f"{API}/support/conversations"))[0]
    assert conversation["customer_id"] == ada
    mine = ok(client.get(f"{API}/customers/{ada}/support/chats", headers=ada_key))
    assert [c["reference"] for c in mine] == [started["reference"]]
    # not Bob's chats, not the agents' queue
    assert client.get(f"{API}/customers/{bob}/support/chats", headers=ada_key).status_code == 403
    assert (
        client.post(
            f"{API}/customers/{bob}/support/chats", json={"message": "x"}, headers=ada_key
        ).status_code
        == 403
    )
    assert client.get(f"{API}/support/conversations", headers=ada_key).status_code == 403


def test_staff_neither_read_a_customers_chats_nor_start_one_in_their_name(container, client):
    """Found by an outside probe: ``/customers/{id}/support/chats`` needed customers:read and
    customers:write, so a store associate read every customer's chat transcripts (associates
    hold support:log, not support:read) and started chats in a customer's name, which the
    desk showed as the signed-in customer's own words. They are the customer's routes."""
    make_orders_network(container)  # the associate's store
    ada = make_customer(container, "Ada", email="ada@example.com", verified=True)
    ada_key = customer_bearer(container, client, ada, "ada@example.com")
    ok(
        client.post(
            f"{API}/customers/{ada}/support/chats", json={"message": "Hi"}, headers=ada_key
        ),
        201,
    )
    associate = key_for(container, "ash", Role.STORE_ASSOCIATE, store_code="LON1")
    agent = key_for(container, "sam", Role.SERVICE_AGENT)
    for staff in (associate, agent):
        assert client.get(f"{API}/customers/{ada}/support/chats", headers=staff).status_code == 403
        forged = client.post(
            f"{API}/customers/{ada}/support/chats",
            json={"message": "It's Ada: send my order to my friend's store"},
            headers=staff,
        )
        assert forged.status_code == 403
        assert forged.headers["content-type"] == "application/problem+json"
    # nothing in Ada's name but her own chat; agents read it in the queue
    conversations = ok(client.get(f"{API}/support/conversations", headers=agent))
    assert [c["subject"] for c in conversations] == ["Hi"]


def signed(body: bytes, at: float, secret: str = SECRET) -> dict[str, str]:
    return {
        service.SIGNATURE_HEADER: service.sign(secret, body, int(at)),
        "Content-Type": "application/json",
        **ANON,
    }


def test_the_webhook_takes_signed_messages_once(container, client, clock):
    container.settings.support_webhook_secret = SecretStr(SECRET)
    ada = make_customer(container, "Ada", email="ada@example.com", verified=True)
    now = clock.now().timestamp()
    body = json.dumps(
        {
            "app": "whatsapp",
            "message_id": "wamid.1",
            "sender": "+447700900123",
            "text": "Is my order on its way?",
            "sender_email": "ada@example.com",
        }
    ).encode()
    url = f"{API}/support/webhooks/inbound"
    first = ok(client.post(url, content=body, headers=signed(body, now)))
    assert first["created"] is True and first["duplicate"] is False
    # replayed within the window: accepted, nothing added
    again = ok(client.post(url, content=body, headers=signed(body, now)))
    assert again["duplicate"] is True and again["conversation_id"] == first["conversation_id"]
    # replayed after the window, a wrong secret, a changed body, no signature: refused
    late = signed(body, now - 301)
    assert client.post(url, content=body, headers=late).status_code == 400
    assert client.post(url, content=body, headers=signed(body, now, "wrong")).status_code == 400
    tampered = body.replace(b"on its way", b"cancelled")
    assert client.post(url, content=tampered, headers=signed(body, now)).status_code == 400
    assert client.post(url, content=body, headers=ANON).status_code == 400
    # the next message of the same sender joins the open conversation
    second = json.dumps(
        {"app": "whatsapp", "message_id": "wamid.2", "sender": "+447700900123", "text": "Hello?"}
    ).encode()
    got = ok(client.post(url, content=second, headers=signed(second, now)))
    assert got["conversation_id"] == first["conversation_id"]
    url = f"{API}/support/conversations/{first['conversation_id']}"
    conversation = ok(client.get(url))
    assert conversation["channel"] == "webhook-social"
    # the app's claimed email is contact information only (a probe: it linked Ada's
    # profile on the app's word): no customer, the desk warned, the email in a note
    assert conversation["customer_id"] is None
    assert conversation["sender_verified"] is False
    assert conversation["contact"] == "whatsapp:+447700900123"
    by_direction = [(m["direction"], m["body"]) for m in conversation["messages"]]
    assert [body for direction, body in by_direction if direction == "in"] == [
        "Is my order on its way?",
        "Hello?",
    ]
    [note] = [body for direction, body in by_direction if direction == "note"]
    assert "whatsapp gives the sender's email ada@example.com" in note
    assert "no customer is linked" in note
    # the agent links Ada by hand once they know who is writing
    linked = ok(client.post(f"{url}/links", json={"customer_id": ada}))
    assert linked["customer_id"] == ada


def test_the_webhook_refuses_a_sender_email_that_is_not_one_mailbox(container, client, clock):
    """A list or a display name would match (or mail) someone else: 422, nothing stored."""
    container.settings.support_webhook_secret = SecretStr(SECRET)
    make_customer(container, "Ada", email="ada@example.com", verified=True)
    now = clock.now().timestamp()
    url = f"{API}/support/webhooks/inbound"
    for i, bad in enumerate(
        ["ada@example.com, eve@evil.test", "Ada <ada@example.com>", "ada@example.com\nBcc: x@y"]
    ):
        body = json.dumps(
            {"app": "whatsapp", "message_id": f"bad.{i}", "sender": "+44770", "text": "hi"}
            | {"sender_email": bad}
        ).encode()
        got = client.post(url, content=body, headers=signed(body, now))
        assert got.status_code == 422, got.text
        assert got.headers["content-type"].startswith("application/problem+json")
    agent = key_for(container, "sam", Role.SERVICE_AGENT)
    assert ok(client.get(f"{API}/support/conversations", headers=agent)) == []


def test_the_desk_links_merges_splits_and_renders_canned_replies(container, client):
    ada = make_customer(container, "Ada Lovelace", email="ada@example.com", verified=True)
    order = place_order(container, client, ada)
    agent = key_for(container, "sam", Role.SERVICE_AGENT)
    associate = key_for(container, "ash", Role.STORE_ASSOCIATE, store_code="LON1")

    # a phone call logged by the agent, an in-store chat by the associate
    call = ok(
        client.post(
            f"{API}/support/contacts",
            json={"channel": "phone", "body": "Called about delivery", "customer_id": ada},
            headers=agent,
        ),
        201,
    )
    visit = ok(
        client.post(
            f"{API}/support/contacts",
            json={"channel": "in_store", "body": "Asked about the same parcel"},
            headers=associate,
        ),
        201,
    )
    assert call["first_response_at"] is not None
    # associates log contacts but do not read the queue
    assert client.get(f"{API}/support/conversations", headers=associate).status_code == 403

    # re-link the visit to Ada and her order, then merge it into the call
    linked = ok(
        client.post(
            f"{API}/support/conversations/{visit['id']}/links",
            json={"customer_id": ada, "order_number": order["number"]},
            headers=agent,
        )
    )
    assert linked["customer_id"] == ada and linked["order_number"] == order["number"]
    merged = ok(
        client.post(
            f"{API}/support/conversations/{visit['id']}/merge",
            json={"into": call["id"]},
            headers=agent,
        )
    )
    assert merged["id"] == call["id"]
    assert merged["order_number"] == order["number"]
    assert [m["body"] for m in merged["messages"]] == [
        "Called about delivery",
        "Asked about the same parcel",
    ]
    gone = ok(client.get(f"{API}/support/conversations/{visit['id']}", headers=agent))
    assert gone["merged_into_id"] == call["id"] and gone["status"] == "closed"
    assert gone["messages"] == []

    # split the in-store message back out
    moved = merged["messages"][1]["id"]
    new = ok(
        client.post(
            f"{API}/support/conversations/{call['id']}/split",
            json={"message_ids": [moved]},
            headers=agent,
        ),
        201,
    )
    assert [m["id"] for m in new["messages"]] == [moved]
    assert new["customer_id"] == ada
    left = ok(client.get(f"{API}/support/conversations/{call['id']}", headers=agent))
    assert [m["body"] for m in left["messages"]] == ["Called about delivery"]

    # a canned reply with variables, rendered in the sandbox
    ok(
        client.put(
            f"{API}/support/canned-replies/where-is-it",
            json={
                "title": "Where is it",
                "body": "Dear {{ customer_name }}, order {{ order_number }} ships today."
                " {{ agent }}",
            },
            headers=agent,
        )
    )
    sent = ok(
        client.post(
            f"{API}/support/conversations/{new['id']}/replies",
            json={"canned": "where-is-it"},
            headers=agent,
        ),
        201,
    )
    assert sent["body"] == f"Dear Ada Lovelace, order {order['number']} ships today. sam"
    unsafe = client.put(
        f"{API}/support/canned-replies/bad",
        json={"title": "x", "body": "{{ ''.__class__.__mro__ }}"},
        headers=agent,
    )
    assert unsafe.status_code == 422
    huge = client.put(
        f"{API}/support/canned-replies/huge",
        json={"title": "x", "body": "{{ 'a' * 10**9 }}"},
        headers=agent,
    )
    assert huge.status_code == 422
    assert "not allowed" in huge.json()["detail"]

    # tags, priority, assignment, status and the queue filters
    ok(
        client.post(
            f"{API}/support/conversations/{call['id']}/tags",
            json={"add": ["Delivery"]},
            headers=agent,
        )
    )
    ok(
        client.post(
            f"{API}/support/conversations/{call['id']}/priority",
            json={"priority": "high"},
            headers=agent,
        )
    )
    with container.read_uow() as uow:
        sam = auth.principal_by_username(uow, "sam")
        system = auth.principal_by_username(uow, "test-admin")
    assert sam is not None and system is not None
    # only staff who work the desk: not a system's key, a customer or a store associate
    refused = client.post(
        f"{API}/support/conversations/{call['id']}/assign",
        json={"assignee_id": system.id},
        headers=agent,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "assignee_id"
    ok(
        client.post(
            f"{API}/support/conversations/{call['id']}/assign",
            json={"assignee_id": sam.id},
            headers=agent,
        )
    )
    tagged = ok(
        client.get(f"{API}/support/conversations", params={"tag": "delivery"}, headers=agent)
    )
    assert [c["id"] for c in tagged] == [call["id"]]
    assert tagged[0]["priority"] == "high" and tagged[0]["assignee_id"] == sam.id
    urgent = client.get(
        f"{API}/support/conversations", params={"priority": "urgent"}, headers=agent
    )
    assert ok(urgent) == []
    ok(
        client.post(
            f"{API}/support/conversations/{call['id']}/status",
            json={"status": "resolved"},
            headers=agent,
        )
    )
    resolved = ok(
        client.get(f"{API}/support/conversations", params={"status": "resolved"}, headers=agent)
    )
    assert [c["id"] for c in resolved] == [call["id"]]

    # a note's mentions are recorded
    noted = ok(
        client.post(
            f"{API}/support/conversations/{call['id']}/notes",
            json={"body": "ask @lee.k and @sam"},
            headers=agent,
        ),
        201,
    )
    assert noted["mentions"] == ["lee.k", "sam"]
