"""A web chat the assistant answered waits for the customer (pending) and resolves itself
after ``support_chat_auto_resolve_hours`` without a word from them (the durable job
``support.auto_resolve``, queued by the server's sweep); the HQ measures count it as
contained. A handover, or the customer writing again, keeps it open for an agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from omniretail.app import create_app, queue_chat_auto_resolve
from omniretail.bootstrap import build_container
from omniretail.jobs import service as jobs
from omniretail.support import service as support
from omniretail.support.hooks import AssistantRequest
from omniretail.support.schemas import ConversationQuery, ReplyCreate
from tests.orders.network import ok
from tests.support.helpers import API

ANON = {"X-API-Key": ""}
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


def assistant(_uow: object, request: AssistantRequest) -> str | None:
    """Answers opening hours; anything else goes to an agent."""
    return "We open at 9." if "open" in request.text else None


def chat(client: Any, text: str) -> dict[str, Any]:
    return dict(ok(client.post(f"{API}/support/chats", json={"message": text}, headers=ANON), 201))


def say(client: Any, token: str, text: str) -> dict[str, Any]:
    url = f"{API}/support/chats/{token}/messages"
    return dict(ok(client.post(url, json={"message": text}, headers=ANON), 201))


def status_of(container: Any, reference: str) -> str:
    with container.read_uow() as uow:
        [found] = [
            c
            for c in support.list_conversations(uow, ConversationQuery(limit=500))
            if c.reference == reference
        ]
    return str(found.status)


def sweep(container: Any) -> int:
    """The server's sweep queues the job when a chat is due; the worker runs it."""
    queued = queue_chat_auto_resolve(container)
    container.job_runner().run_until_idle()
    if queued is None:
        return 0
    with container.read_uow() as uow:
        done = jobs.get(uow, queued.id)
    assert done.state == "succeeded", done
    return int((done.result or {})["resolved"])


def measures(container: Any, clock: Any) -> Any:
    with container.read_uow() as uow:
        return support.support_measures(uow, SINCE, clock.now() + timedelta(minutes=1))


def test_an_answered_chat_waits_then_resolves_and_counts_as_contained(container, client, clock):
    container.assistant = assistant
    answered = chat(client, "When do you open?")
    assert [m["author"] for m in answered["messages"]] == ["you", "assistant"]
    assert answered["status"] == "pending"
    handed = chat(client, "My parcel is broken")  # a handover: open, for an agent
    assert handed["status"] == "open"

    clock.advance(hours=23, minutes=59)
    assert sweep(container) == 0
    assert status_of(container, answered["reference"]) == "pending"
    clock.advance(minutes=2)
    assert sweep(container) == 1
    assert status_of(container, answered["reference"]) == "resolved"
    assert status_of(container, handed["reference"]) == "open"
    assert sweep(container) == 0  # nothing due: no job queued

    m = measures(container, clock)
    assert (m.assistant_answered, m.assistant_contained, m.containment_rate) == (1, 1, 1.0)
    with container.read_uow() as uow:
        found = support.list_conversations(uow, ConversationQuery(limit=500))
        [conversation] = [c for c in found if c.reference == answered["reference"]]
        messages = support.get_conversation(uow, conversation.id).messages or []
    notes = [m.body for m in messages if m.direction == "note"]
    assert notes == [
        "Resolved automatically: the customer did not write again within 24 h"
        " of the assistant's answer."
    ]


def test_the_customer_writing_again_keeps_the_chat_open(container, client, clock):
    container.assistant = assistant
    started = chat(client, "When do you open?")
    clock.advance(hours=2)
    again = say(client, started["token"], "And can I return a mug there?")  # a handover
    assert again["status"] == "open"
    clock.advance(hours=30)
    assert sweep(container) == 0
    assert status_of(container, started["reference"]) == "open"
    m = measures(container, clock)
    assert (m.assistant_answered, m.assistant_contained) == (1, 0)


def test_the_wait_restarts_from_the_assistants_last_answer(container, client, clock):
    container.assistant = assistant
    started = chat(client, "When do you open?")
    clock.advance(hours=20)
    assert say(client, started["token"], "Are you open on Sunday?")["status"] == "pending"
    clock.advance(hours=20)  # 40 h since the first answer, 20 h since the last one
    assert sweep(container) == 0
    clock.advance(hours=4, minutes=1)
    assert sweep(container) == 1
    assert status_of(container, started["reference"]) == "resolved"


def test_a_chat_an_agent_answered_is_not_resolved_by_the_job(container, client, clock):
    container.assistant = assistant
    started = chat(client, "When do you open?")
    with container.read_uow() as uow:
        found = support.list_conversations(uow, ConversationQuery(limit=500))
        [conversation] = [c for c in found if c.reference == started["reference"]]
    with container.uow() as uow:  # the agent adds a word; pending, waiting for the customer
        support.reply(
            uow, conversation.id, ReplyCreate(body="Sundays too."), author="service_agent:sam"
        )
    clock.advance(hours=48)
    assert sweep(container) == 0
    assert status_of(container, started["reference"]) == "pending"


def test_the_wait_is_a_setting(container, clock):
    settings = container.settings.model_copy(update={"support_chat_auto_resolve_hours": 2})
    short = build_container(settings, clock=clock)
    never = build_container(
        settings.model_copy(update={"support_chat_auto_resolve_hours": 0}), clock=clock
    )
    try:
        short.assistant = assistant
        with TestClient(create_app(short, background_sweep=False)) as client:
            started = chat(client, "When do you open?")
        clock.advance(hours=2, minutes=1)
        assert sweep(never) == 0  # 0: never by itself
        assert status_of(container, started["reference"]) == "pending"
        assert sweep(short) == 1
        assert status_of(container, started["reference"]) == "resolved"
    finally:
        short.dispose()
        never.dispose()
