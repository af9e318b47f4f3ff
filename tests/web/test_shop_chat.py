"""The shop's chat for a signed-in customer: the widget's first message starts the chat linked
to their profile (``/shop/chat``), so the assistant answers about their own order without
asking them to sign in; a visitor's page keeps the anonymous chat; a post without the page's
token is refused and writes nothing. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.support import service as support
from omniretail.support.schemas import ConversationQuery
from tests.web.conftest import sign_in
from tests.web.seed import CUSTOMER_EMAIL, Seeded

SCRIPT = re.compile(r'<script src="/static/support-chat\.js[^"]*"([^>]*)>')


def _chats(container: Container) -> list[object]:
    with container.read_uow() as uow:
        return list(support.list_conversations(uow, ConversationQuery(channel="chat", limit=50)))


def test_a_signed_in_customer_is_answered_about_their_own_order(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    visitor = SCRIPT.search(web.get("/shop").text)
    assert visitor and "data-start" not in visitor.group(1)
    sign_in(web, CUSTOMER_EMAIL)
    tag = SCRIPT.search(web.get("/shop").text)
    assert tag and 'data-start="/shop/chat"' in tag.group(1)
    assert f'data-customer="{seeded.customer_id}"' in tag.group(1)
    csrf = re.search(r'data-csrf="([^"]+)"', tag.group(1))
    assert csrf

    refused = web.post("/shop/chat", data={"message": "Where is my order?"})
    assert refused.status_code == 403 and _chats(container) == []

    started = web.post(
        "/shop/chat",
        data={"message": "Where is my order?", "page": "/shop"},
        headers={"X-CSRF-Token": html.unescape(csrf.group(1))},
    )
    assert started.status_code == 201, started.text
    chat = started.json()
    assert chat["token"] and [m["author"] for m in chat["messages"]] == ["you", "assistant"]
    answer = chat["messages"][1]["body"]
    assert "sign in" not in answer
    assert answer.startswith(("Order " + seeded.home_order, "Order " + seeded.pickup_order))
    assert "/track/" in answer
    [conversation] = _chats(container)
    assert conversation.customer_id == seeded.customer_id  # type: ignore[attr-defined]
    later = web.get(f"/api/v1/support/chats/{chat['token']}/messages")
    assert later.status_code == 200 and len(later.json()["messages"]) == 2
