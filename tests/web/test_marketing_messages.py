"""The HQ marketing message editor: a marketer writes a message and previews it per channel
for a chosen customer (the HTMX fragment); a store associate's console has no such page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from tests.web.conftest import post, sign_in
from tests.web.seed import ASSOCIATE, PASSWORD, Seeded


def test_a_marketer_writes_a_message_and_previews_it_per_channel(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="marketer", role=Role.MARKETER, password=PASSWORD)
        )
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
