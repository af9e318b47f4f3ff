"""A chat token sees its own chat only (security probe): after an agent merges an anonymous
chat with a customer's conversation (either way) or links it to the profile, the token reads
only the messages written in its chat, under its own reference, and the assistant answering
it is told of no customer."""

from __future__ import annotations

from typing import Any

import pytest

from omniretail.bootstrap import Container
from omniretail.support import chat, mail_in
from omniretail.support.hooks import AssistantRequest
from omniretail.support.schemas import ChatPost
from tests.customers.helpers import make_customer
from tests.orders.network import ok
from tests.support.helpers import API, TRUSTED_MX, email

SECRET = "my card ends 4242 and I live at 7 Private Road"


@pytest.fixture
def setting(container: Container, client: Any) -> dict[str, Any]:
    """Ada's authenticated email conversation, with a note, and an anonymous chat."""
    container.settings.support_mail_authserv_id = TRUSTED_MX
    ada = make_customer(container, "Ada Lovelace", email="ada@example.com", verified=True)
    mail = email(sender="Ada <ada@example.com>", body=SECRET, authenticated_by=TRUSTED_MX)
    thread = mail_in.ingest_one(container, bytes(mail)).conversation_id
    ok(client.post(f"{API}/support/conversations/{thread}/notes", json={"body": "VIP note"}), 201)
    started = ok(client.post(f"{API}/support/chats", json={"message": "hello from chat"}), 201)
    by_token = ok(client.get(f"{API}/support/chats/{started['token']}/messages"))
    return {"ada": ada, "thread": thread, "token": started["token"], "chat": by_token}


def chat_id(client: Any, reference: str) -> int:
    listed = ok(client.get(f"{API}/support/conversations"))
    return next(c["id"] for c in listed if c["reference"] == reference)


def seen(client: Any, token: str) -> dict[str, Any]:
    return ok(client.get(f"{API}/support/chats/{token}/messages"))


@pytest.mark.parametrize("direction", ["chat into thread", "thread into chat"])
def test_after_a_merge_the_token_reads_its_own_chat_only(
    client: Any, setting: dict[str, Any], direction: str
) -> None:
    token, reference = setting["token"], setting["chat"]["reference"]
    chat_conversation = chat_id(client, reference)
    source, into = (chat_conversation, setting["thread"])
    if direction == "thread into chat":
        source, into = into, source
    ok(client.post(f"{API}/support/conversations/{source}/merge", json={"into": into}))

    own = [m["body"] for m in setting["chat"]["messages"]]
    assert own[0] == "hello from chat"
    after = seen(client, token)
    assert after["reference"] == reference
    assert [m["body"] for m in after["messages"]] == own
    assert SECRET not in str(after)

    posted = ok(
        client.post(f"{API}/support/chats/{token}/messages", json={"message": "still me"}), 201
    )
    bodies = [m["body"] for m in posted["messages"]]
    assert bodies[: len(own) + 1] == [*own, "still me"]
    assert SECRET not in str(posted)
    agent_view = ok(client.get(f"{API}/support/conversations/{into}"))
    assert "still me" in [m["body"] for m in agent_view["messages"]]  # the agent sees it all


def test_a_chat_linked_or_merged_to_a_profile_does_not_speak_for_it(
    container: Container, client: Any, setting: dict[str, Any]
) -> None:
    token, reference = setting["token"], setting["chat"]["reference"]
    chat_conversation = chat_id(client, reference)
    ok(
        client.post(
            f"{API}/support/conversations/{chat_conversation}/links",
            json={"customer_id": setting["ada"]},
        )
    )
    asked: list[AssistantRequest] = []

    def assistant(_uow: Any, request: AssistantRequest) -> str | None:
        asked.append(request)
        return None

    with container.uow() as uow:
        chat.post_chat(uow, token, ChatPost(message="what are my orders?"), assistant=assistant)
    ok(
        client.post(
            f"{API}/support/conversations/{chat_conversation}/merge",
            json={"into": setting["thread"]},
        )
    )
    with container.uow() as uow:
        chat.post_chat(uow, token, ChatPost(message="and my points?"), assistant=assistant)
    assert [r.customer_id for r in asked] == [None, None]
    assert {r.reference for r in asked} == {reference}


def test_a_signed_in_customers_chat_keeps_speaking_for_them(
    container: Container, client: Any, setting: dict[str, Any]
) -> None:
    ada = setting["ada"]
    started = ok(client.post(f"{API}/customers/{ada}/support/chats", json={"message": "hi"}), 201)
    asked: list[AssistantRequest] = []
    with container.uow() as uow:
        chat.post_chat(
            uow,
            started["token"],
            ChatPost(message="my orders?"),
            assistant=lambda _uow, r: asked.append(r) or None,
        )
    assert [r.customer_id for r in asked] == [ada]
