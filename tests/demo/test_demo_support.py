"""The demo shows customer service as it is: a team with business hours and SLA, canned
replies, and the demo customer's conversations from email, chat (answered by the assistant,
and handed over) and phone; the demo's agent signs in, works the handed-over chat from the
desk beside the customer's order and tracking, and resolves it with a canned reply."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from omniretail.app import create_app
from omniretail.demo.people import CUSTOMER_EMAIL
from omniretail.demo.support import CANNED, HANDOVER_TEXT, TEAM_ADDRESS
from omniretail.support import service as support
from omniretail.support.models import Conversation, Message
from omniretail.support.schemas import ConversationQuery
from tests.demo.test_demo import printed_sign_ins, run_demo
from tests.history.logs import write_log
from tests.web.conftest import csrf_of, sign_in


def _conversations(container, customer_id):
    with container.read_uow() as uow:
        found = support.list_conversations(
            uow, ConversationQuery(customer_id=customer_id, limit=50)
        )
        return {
            c.channel + ":" + (c.subject or ""): support.get_conversation(uow, c.id) for c in found
        }


def test_the_demo_seeds_a_service_team_and_conversations_the_agent_works(container, tmp_path):
    log = write_log(tmp_path / "log.parquet")
    output = run_demo(container, tmp_path, log)
    passwords = printed_sign_ins(output)
    customer_id = int(re.search(r"/api/v1/customers/(\d+)/360", output).group(1))

    with container.read_uow() as uow:
        teams = support.list_teams(uow)
        canned = {c.code for c in support.list_canned(uow)}
    assert [(t.code, t.address) for t in teams] == [("general", TEAM_ADDRESS)]
    team = teams[0]
    assert team.hours == {str(d): ["09:00", "18:00"] for d in range(1, 7)}  # Mon-Sat
    assert (team.time_zone, team.first_response_minutes) == ("Europe/London", 120)
    assert canned == set(CANNED)

    found = _conversations(container, customer_id)
    assert len(found) == 4, found.keys()
    assert sorted(c.channel for c in found.values()) == ["chat", "chat", "email", "phone"]
    email = next(c for c in found.values() if c.channel == "email")
    # ingested like a mail from the SMTP listener: the verified sender's profile, the order
    assert email.contact == CUSTOMER_EMAIL and email.order_number
    assert email.order_number in (email.subject or "")
    assert email.status == "open"
    answered = next(
        c for c in found.values() if c.channel == "chat" and not c.subject.startswith("I'd")
    )
    assert "wismo" in answered.tags
    assert [m.author for m in answered.messages] == ["customer", "assistant"]
    assert answered.order_number and answered.order_number in answered.messages[1].body
    handed = next(c for c in found.values() if c.subject and c.subject.startswith("I'd like"))
    assert handed.messages[0].body == HANDOVER_TEXT
    assert handed.status == "open" and handed.order_number
    assert [m.direction for m in handed.messages] == ["in", "note"]  # no answer: an agent's
    phone = next(c for c in found.values() if c.channel == "phone")
    assert phone.status == "resolved" and phone.messages[0].author == "service_agent:agent"

    # The agent's tour step: every link opens for the agent.
    step = next(line for line in output.splitlines() if line.startswith(" 11. agent:"))
    text = " ".join(output.split(" 11. agent:")[1].split())
    assert f"/hq/desk/conversations/{handed.id}" in text, step
    app = create_app(container, background_sweep=False)
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, "agent", passwords["agent"])
        queue = client.get("/hq/desk")
        assert queue.status_code == 200, queue.text[:300]
        assert HANDOVER_TEXT.replace("'", "&#39;") in queue.text
        assert email.subject in queue.text
        everything = client.get("/hq/desk", params={"status": "all"})
        for c in found.values():
            assert f"/hq/desk/conversations/{c.id}" in everything.text
        url = f"/hq/desk/conversations/{handed.id}"
        page = client.get(url, params={"canned": "damaged-item"})
        assert page.status_code == 200, page.text[:300]
        assert handed.order_number in page.text
        assert "/track/" in page.text  # the order's tracking beside the chat
        box = page.text.split('name="body" rows="6" maxlength="20000">')[1].split("</textarea>")[0]
        assert f"order {handed.order_number} arrived damaged" in box
        sent = client.post(
            f"{url}/replies",
            data={"csrf_token": csrf_of(page.text), "body": box, "status": "resolved"},
        )
        assert sent.status_code == 303, sent.text[:300]
    with container.read_uow() as uow:
        done = support.get_conversation(uow, handed.id)
    assert done.status == "resolved" and done.messages[-1].author == "service_agent:agent"

    # Again: nothing added (the relay the server runs has delivered what the reply queued; the
    # demo runs it too before its tour).
    container.relay().run_until_idle()
    with container.read_uow() as uow:
        before = (
            uow.session.scalar(select(func.count()).select_from(Conversation)),
            uow.session.scalar(select(func.count()).select_from(Message)),
        )
    again = run_demo(container, tmp_path, log)
    assert "conversations exist; none added" in again
    with container.read_uow() as uow:
        after = (
            uow.session.scalar(select(func.count()).select_from(Conversation)),
            uow.session.scalar(select(func.count()).select_from(Message)),
        )
    assert after == before
