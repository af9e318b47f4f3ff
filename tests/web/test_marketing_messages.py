"""The HQ marketing message editor: a marketer writes a message and previews it per channel
for a chosen customer (the HTMX fragment); a store associate's console has no such page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from jinja2 import Environment, meta

from omniretail.auth.models import Role
from omniretail.bootstrap import Container
from omniretail.marketing import journeys_classics_copy as copy
from tests.web.conftest import post, sign_in
from tests.web.seed import ASSOCIATE, Seeded, add_staff


def test_a_marketer_writes_a_message_and_previews_it_per_channel(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    add_staff(container, "marketer", Role.MARKETER)
    sign_in(web, "marketer")

    made = post(
        web,
        "/hq/marketing/messages",
        "/hq/marketing/messages",
        {
            "code": "hello",
            "name": "Hello",
            "subject": "Hello {{ customer.first_name }}",
            "body": "Spring 🌸 is here.",
            "link_url": "https://shop.example.com/",
        },
    )
    assert made.status_code == 303  # type: ignore[attr-defined]
    assert made.headers["location"].startswith("/hq/marketing/messages/hello")  # type: ignore[attr-defined]
    editor = web.get("/hq/marketing/messages/hello")
    assert editor.status_code == 200
    assert 'hx-get="/hq/marketing/messages/hello/preview"' in editor.text

    sms = web.get(
        "/hq/marketing/messages/hello/preview",
        params={"customer_id": seeded.customer_id, "channel": "sms"},
        headers={"HX-Request": "true"},
    )
    assert sms.status_code == 200
    # the flower makes it UCS-2; with both signed links it is 177 units: 3 segments of 67
    assert "177 characters, UCS-2, 3 segments" in sms.text
    email = web.get(
        "/hq/marketing/messages/hello/preview",
        params={"customer_id": seeded.customer_id, "channel": "email"},
    )
    assert "<iframe" in email.text and "sandbox" in email.text

    bad = post(
        web,
        "/hq/marketing/messages/hello",
        "/hq/marketing/messages/hello",
        {"name": "Hello", "subject": "x", "body": "{% if %}"},
    )
    assert bad.status_code == 422  # type: ignore[attr-defined]


def test_a_store_associate_may_not_open_the_editor(web: TestClient, seeded: Seeded) -> None:
    sign_in(web, ASSOCIATE)

    assert web.get("/hq/marketing/messages").status_code == 403


def test_the_body_hint_names_every_fact_the_classic_messages_use(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    add_staff(container, "marketer", Role.MARKETER)
    sign_in(web, "marketer")
    page = web.get("/hq/marketing/messages").text
    hint = page.split("Paragraphs by a blank line. Facts: ")[1].split("</small>")[0]
    env = Environment()
    used: set[str] = set()
    groups = (copy.WELCOME, copy.ABANDONED_CART, copy.BROWSE, copy.BACK_IN_STOCK)
    groups += (copy.PRICE_DROP, copy.WIN_BACK, copy.BIRTHDAY, copy.POST_PURCHASE, copy.TIER_UP)
    for message in (m for group in groups for m in group):
        used |= meta.find_undeclared_variables(env.parse(message.subject + (message.body or "")))
    assert used and all(re.search(rf"\b{name}\b", hint) for name in used), (used, hint)


def test_the_list_shows_each_subject_as_a_reader_sees_it(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    add_staff(container, "marketer", Role.MARKETER)
    sign_in(web, "marketer")
    subject = (
        "{{ customer.first_name|title }}, <b>spring</b>{% if customer.tier %} for you{% endif %}"
    )
    made = post(
        web,
        "/hq/marketing/messages",
        "/hq/marketing/messages",
        {"code": "spring", "name": "Spring", "subject": subject, "body": "Hello."},
    )
    assert made.status_code == 303  # type: ignore[attr-defined]

    page = web.get("/hq/marketing/messages").text

    row = page[page.index('href="/hq/marketing/messages/spring"') :].split("</tr>")[0]
    assert "{{" not in row and "{%" not in row
    assert (
        '<span class="placeholder" title="customer.first_name|title">first name</span>'
        ", &lt;b&gt;spring&lt;/b&gt;"
        '<span class="placeholder" title="if customer.tier">if customer.tier</span> for you'
        '<span class="placeholder" title="endif">endif</span>'
    ) in row
