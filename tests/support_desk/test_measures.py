"""The desk's measures on real conversations: where-is-my-order contacts per 100 orders,
first response and resolution times, assistant containment, reopen rate, and the
satisfaction survey asked after resolution and answered on its public page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from omniretail.support import service as support
from omniretail.support.schemas import ChatPost, ChatStart, ConversationQuery, ReplyCreate
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive

AGENT = "service_agent:sam"
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def assistant(container):
    def answer(_uow, request):
        return "It is on its way." if "where is my order" in request.text.lower() else None

    container.assistant = answer
    return answer


def _conversation_id(container, reference):
    with container.read_uow() as uow:
        found = support.list_conversations(uow, ConversationQuery(limit=500))
    return next(c.id for c in found if c.reference == reference)


def _chat(container, text):
    with container.uow() as uow:
        started = support.start_chat(
            uow, ChatStart(message=text, email="ada@example.com"), assistant=container.assistant
        )
    return started.token, _conversation_id(container, started.reference)


def test_measures_and_the_survey(container, client, clock, assistant):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    for _ in range(4):
        token = new_cart(client)
        ok(add(client, token, "A1", 1))
        ok(checkout(client, token), 201)

    # Contained: the assistant answers at once, the conversation is resolved after 10 min.
    _, contained = _chat(container, "Where is my order?")
    with container.uow() as uow:
        support.change_tags(uow, contained, add=["wismo"], remove=[])
    clock.advance(minutes=10)
    with container.uow() as uow:
        support.set_status(uow, contained, "resolved")

    # An agent answers after 30 min and resolves; the customer writes again: reopened.
    chat, handled = _chat(container, "My mug arrived chipped")
    clock.advance(minutes=30)
    with container.uow() as uow:
        support.reply(
            uow, handled, ReplyCreate(body="Sorry! Refunded.", status="resolved"), author=AGENT
        )
    container.relay().run_until_idle()  # the survey is asked while it is resolved
    clock.advance(minutes=5)
    with container.uow() as uow:
        support.post_chat(
            uow,
            chat,
            ChatPost(message="Still broken, and the refund?"),
            assistant=container.assistant,
        )

    # Waiting, unanswered.
    _chat(container, "Do you sell gift cards?")
    container.relay().run_until_idle()

    with container.read_uow() as uow:
        m = support.support_measures(uow, SINCE, clock.current + timedelta(minutes=1))
        survey_messages = [
            msg.body
            for c in (contained, handled)
            for msg in support.get_conversation(uow, c).messages or []
            if msg.author == "system"
        ]
    assert (m.conversations, m.orders, m.wismo_contacts) == (3, 4, 1)
    assert m.wismo_per_100_orders == 25.0
    assert (m.first_response_minutes.count, m.first_response_minutes.median) == (2, 0.0)
    assert m.first_response_minutes.p90 == 30.0
    assert (m.resolution_minutes.count, m.resolution_minutes.median) == (1, 10.0)  # one reopened
    assert (m.assistant_answered, m.assistant_contained, m.containment_rate) == (1, 1, 1.0)
    assert (m.resolved, m.reopened, m.reopen_rate) == (2, 1, 0.5)
    assert (m.surveys_asked, m.surveys_answered, m.mean_rating) == (2, 0, None)
    assert len(survey_messages) == 2  # one per resolution: each conversation asked once

    link = re.search(r"http://[^ \n]+/survey/([\w-]+)", survey_messages[0])
    assert link is not None
    page = client.get(f"/survey/{link.group(1)}")
    assert page.status_code == 200 and "How did we do?" in page.text
    answered = client.post(f"/survey/{link.group(1)}", data={"rating": "4", "comment": "quick"})
    assert answered.status_code == 200 and "you rated us 4 out of 5" in answered.text
    assert client.post("/survey/not-a-token", data={"rating": "5"}).status_code == 404
    assert client.post(f"/survey/{link.group(1)}", data={"rating": "9"}).status_code == 422
    with container.read_uow() as uow:
        m = support.support_measures(uow, SINCE, clock.current + timedelta(minutes=1))
    assert (m.surveys_answered, m.mean_rating, m.csat) == (1, 4.0, 1.0)
