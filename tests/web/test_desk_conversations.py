"""The desk's queue and conversation pages: filters, a canned reply inserted and sent, a note
with a mention, status, tags, priority, re-link, and the customer beside the conversation."""

from __future__ import annotations

import re

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.support import mail_in
from omniretail.support import service as support
from omniretail.support.schemas import CannedReplyWrite, ChatStart, ConversationQuery, TeamWrite
from omniretail.web.hq import desk_conversations as desk_page
from tests.support.helpers import TRUSTED_MX, email
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import ADMIN, PASSWORD


def _chat(container, text, **extra):
    with container.uow() as uow:
        started = support.start_chat(uow, ChatStart(message=text, **extra))
        found = support.list_conversations(uow, ConversationQuery(limit=50))
    return next(c.id for c in found if c.reference == started.reference)


def test_the_agent_works_a_conversation_from_the_queue(container, web, seeded):
    with container.uow() as uow:
        support.put_canned(
            uow,
            "where",
            CannedReplyWrite(
                title="Where is it",
                body="Hello {{ customer_name }}, order {{ order_number }} is on its way.",
            ),
        )
    cid = _chat(container, f"Where is my order {seeded.home_order}?", email="ada@example.com")
    other = _chat(container, "Do you sell gift cards?")
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="sam", role=Role.SERVICE_AGENT, password=PASSWORD)
        )
    sign_in(web, "sam")
    queue = web.get("/hq/desk")
    assert queue.status_code == 200, queue.text
    assert "Where is my order" in queue.text and "gift cards" in queue.text
    url = f"/hq/desk/conversations/{cid}"
    page = web.get(url)
    assert page.status_code == 200, page.text
    token = csrf_of(page.text)

    def post(op, **data):
        r = web.post(f"{url}/{op}", data={"csrf_token": token, **data})
        assert r.status_code == 303, r.text
        return r

    post("links", customer_id=str(seeded.customer_id))
    post("tags", add="wismo, web")
    post("priority", priority="high")
    post("assign", assignee_id="me")
    post("notes", body="@sam this one is for you")
    inserted = web.get(url, params={"canned": "where"})
    assert f"order {seeded.home_order} is on its way" in inserted.text
    text = inserted.text.split('name="body" rows="6" maxlength="20000">')[1].split("</textarea>")[0]
    post("replies", body=text, status="resolved")

    page = web.get(url)
    assert "Internal note" in page.text and "@sam this one is for you" in page.text
    assert seeded.home_order in page.text and "Resend pickup code" in page.text  # customer beside
    with container.read_uow() as uow:
        c = support.get_conversation(uow, cid)
    assert (c.status, c.priority, c.customer_id) == ("resolved", "high", seeded.customer_id)
    assert set(c.tags) >= {"wismo", "web"} and c.assignee_id is not None
    assert [m.direction for m in c.messages or []][-2:] == ["note", "out"]

    mine = web.get("/hq/desk", params={"status": "resolved", "tag": "wismo", "priority": "high"})
    assert f"/hq/desk/conversations/{cid}" in mine.text
    assert f"/hq/desk/conversations/{other}" not in mine.text
    merged = web.post(
        f"/hq/desk/conversations/{other}/merge", data={"csrf_token": token, "into": str(cid)}
    )
    assert merged.headers["location"].startswith(f"/hq/desk/conversations/{cid}")


def test_the_desk_marks_mail_whose_sender_is_not_verified(container, web, seeded):
    """A spoofed From opens a conversation of its own; the agent sees at once, in the queue, on
    the thread and on each message, that nobody vouched for the sender."""
    container.settings.support_mail_authserv_id = TRUSTED_MX
    sender = "Ada Lovelace <ada@example.com>"
    spoofed = mail_in.ingest_one(
        container, bytes(email(sender=sender, subject="Change my address", body="1 Thief Lane"))
    )
    genuine = mail_in.ingest_one(
        container,
        bytes(
            email(sender=sender, subject="Gift cards?", body="Do you?", authenticated_by=TRUSTED_MX)
        ),
    )
    chat = _chat(container, "Hello from the chat")
    typed = _chat(container, "It is Ada, honest", email="ada@example.com")
    sign_in(web, "hq-admin")
    queue = web.get("/hq/desk").text
    rows = {
        c: queue.split(f'conversations/{c}">', 2)[2].split("</tr>")[0]
        for c in (spoofed.conversation_id, genuine.conversation_id, chat, typed)
    }
    assert "sender not verified" in rows[spoofed.conversation_id]
    assert "sender not verified" in rows[typed]  # an address typed in the chat proves nothing
    assert "sender not verified" not in rows[genuine.conversation_id] + rows[chat]
    page = web.get(f"/hq/desk/conversations/{spoofed.conversation_id}").text
    assert 'id="sender-not-verified"' in page
    assert page.count('<span class="badge bad">sender not verified</span>') == 1  # its one mail
    for other in (genuine.conversation_id, chat):
        assert "not verified" not in web.get(f"/hq/desk/conversations/{other}").text.lower()


def test_each_message_has_a_labelled_choice_to_move_it_to_a_new_conversation(
    container, web, seeded
):
    import re

    cid = _chat(container, "My mug arrived broken", email="ada@example.com")
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="sam", role=Role.SERVICE_AGENT, password=PASSWORD)
        )
    sign_in(web, "sam")

    page = web.get(f"/hq/desk/conversations/{cid}").text
    boxes = re.findall(r'<input class="inline-check" type="checkbox" id="(split-\d+)"', page)

    assert boxes, page
    for box in boxes:  # a label names each box, and says what ticking it does
        assert f'<label class="split-pick" for="{box}">' in page
    assert page.count("Move to a new conversation</label>") == len(boxes)


def test_the_desk_marks_a_spoofed_mail_inside_a_verified_conversation(container, web, seeded):
    """Ada's authenticated mail opens the conversation; a mail with the desk's reply token but
    no verdict joins it and is marked itself (before 0046 it inherited "verified")."""
    from omniretail.support.replies import reply
    from omniretail.support.schemas import ReplyCreate

    container.settings.support_mail_authserv_id = TRUSTED_MX
    sender = "Ada Lovelace <ada@example.com>"
    first = email(sender=sender, subject="My order", body="Where?", authenticated_by=TRUSTED_MX)
    opened = mail_in.ingest_one(container, bytes(first))
    with container.uow() as uow:
        sent = reply(uow, opened.conversation_id, ReplyCreate(body="On its way"), author="agent")
    spoof = email(
        sender=sender, subject="Re: My order", body="Refund me", in_reply_to=sent.message_id
    )
    assert mail_in.ingest_one(container, bytes(spoof)).conversation_id == opened.conversation_id
    sign_in(web, "hq-admin")
    page = web.get(f"/hq/desk/conversations/{opened.conversation_id}").text
    assert 'id="sender-not-verified"' not in page  # the conversation's sender was proved
    assert 'id="message-not-verified"' in page
    assert page.count('<span class="badge bad">sender not verified</span>') == 1  # its mail
    assert page.index("Refund me") > page.rindex("sender not verified")


def test_a_conversation_is_assigned_only_to_staff_who_work_the_desk(container, web, seeded):
    cid = _chat(container, "Do you sell gift cards?")
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="sam", role=Role.SERVICE_AGENT, password=PASSWORD)
        )
        principals = auth.list_principals(uow)
    sign_in(web, "sam")
    page = web.get(f"/hq/desk/conversations/{cid}")
    assert page.status_code == 200, page.text
    box = page.text.split('id="f-assignee"')[1].split("</select>")[0]
    offered = set(re.findall(r'<option value="(\d+)"', box))
    staff = {
        str(p.id)
        for p in principals
        if p.kind == "person" and p.role in (Role.ADMIN, Role.SERVICE_AGENT)
    }
    assert offered == staff
    assert any(p.role is Role.CUSTOMER for p in principals)
    assert any(p.role is Role.STORE_ASSOCIATE for p in principals)


def test_the_queue_filters_by_channel_and_says_when_it_is_cut(container, web, seeded, monkeypatch):
    chat = _chat(container, "Do you sell gift cards?")
    mailed = mail_in.ingest_one(container, bytes(email(subject="Where is my parcel?")))
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="sam", role=Role.SERVICE_AGENT, password=PASSWORD)
        )
    sign_in(web, "sam")
    chats = web.get("/hq/desk", params={"channel": "chat"}).text
    assert f"/hq/desk/conversations/{chat}" in chats
    assert "Where is my parcel?" not in chats
    assert '<option value="webhook-social">Social and messaging apps</option>' in chats
    assert 'id="queue-more"' not in chats
    every = web.get("/hq/desk", params={"channel": "nonsense"}).text
    assert "Where is my parcel?" in every and "gift cards" in every
    monkeypatch.setattr(desk_page, "SHOWN", 1)
    cut = web.get("/hq/desk").text
    assert (
        'id="queue-more"' in cut and cut.count('<td><a href="/hq/desk/conversations/') == 2
    )  # one row: ref, subject
    assert f"/hq/desk/conversations/{mailed.conversation_id}" in every


def test_the_priority_filter_finds_conversations_beyond_the_first_page(
    container, web, seeded, monkeypatch
):
    """The queue shows the first ``SHOWN`` by latest activity; a priority filter applies
    before that cut, so an older urgent conversation is still found (it was filtered from
    the first page only)."""
    monkeypatch.setattr(desk_page, "SHOWN", 1)
    urgent = _chat(container, "My parcel never came")
    _chat(container, "Do you sell gift cards?")  # newer, normal priority
    with container.uow() as uow:
        support.set_priority(uow, urgent, "urgent")
        found = support.list_conversations(uow, ConversationQuery(priority="urgent"))
        auth.create_principal(
            uow, PrincipalCreate(username="sam", role=Role.SERVICE_AGENT, password=PASSWORD)
        )
    assert [c.id for c in found] == [urgent]
    sign_in(web, "sam")
    queue = web.get("/hq/desk", params={"priority": "urgent", "status": ""})
    assert queue.status_code == 200, queue.text
    assert "My parcel never came" in queue.text and "gift cards" not in queue.text


def test_the_conversation_names_its_order_and_links_to_it_beside_the_chat(container, web, seeded):
    """The tour sends the agent to a chat about an order: the order's number is at the top of
    the conversation, a link to its tracking in the orders beside it (the customer's newest
    orders come first there, so a linked older one was hard to find)."""
    cid = _chat(container, "My parcel arrived damaged")
    with container.uow() as uow:
        support.put_team(uow, support.DEFAULT_TEAM, TeamWrite(name="Customer care"))
    sign_in(web, ADMIN)
    url = f"/hq/desk/conversations/{cid}"
    token = csrf_of(web.get(url).text)
    linked = web.post(
        f"{url}/links",
        data={
            "csrf_token": token,
            "customer_id": str(seeded.customer_id),
            "order_number": seeded.home_order,
        },
    )
    assert linked.status_code == 303, linked.text
    page = web.get(url).text
    assert f'<a id="conv-order" href="#desk-order-{seeded.home_order}">' in page
    assert f'id="desk-order-{seeded.home_order}"' in page
    # the team by its name, as the queue's filter shows it, not its code ("general")
    assert "Chat · Customer care · priority" in page and "(keep Customer care)" in page
