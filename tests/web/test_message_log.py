"""The HQ message log (/hq/messages): who may open it, its filters, one email rendered in a
sandboxed frame, and nothing personal for a role that may not see it."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from omniretail.messaging.mail import RecordingMailer
from omniretail.messaging.senders import RecordingSmsSender
from omniretail.notifications.service import notify
from tests.web.conftest import sign_in
from tests.web.seed import ADMIN, ASSOCIATE, CUSTOMER_EMAIL, PASSWORD, Seeded

ROW = re.compile(r'<a href="/hq/messages/(\d+)">')
SMS_TEXT = "Your order is on its way."


@pytest.fixture
def sent(container: Container, seeded: Seeded) -> dict[str, int]:
    """The seeded orders' emails sent through the relay (the first one failing in the
    relay's batch and again when the relay falls back to one by one, so it is left
    retrying), and an SMS queued; returns ids by name."""
    mailer = RecordingMailer()
    container.senders.mailer, container.senders.sms = mailer, RecordingSmsSender()
    mailer.fail_next = 2
    container.relay().run_until_idle()
    assert mailer.sent, "the seeded orders sent no email"
    with container.uow() as uow:
        sms = notify(
            uow,
            "delivered",
            "sms",
            "+447700900123",
            {"order_number": seeded.home_order, "customer_name": "Ada"},
            "sms-event",
            customer_ref=str(seeded.customer_id),
        ).id
        for username, role in (("agent", Role.SERVICE_AGENT), ("marketer", Role.MARKETER)):
            auth.create_principal(
                uow, PrincipalCreate(username=username, role=role, password=PASSWORD)
            )
    return {"sms": sms}


def ids_on(html: str) -> list[int]:
    return [int(i) for i in ROW.findall(html)]


def test_a_service_agent_sees_every_message_with_who_when_why_and_state(
    web: TestClient, seeded: Seeded, sent: dict[str, int]
) -> None:
    sign_in(web, "agent")

    page = web.get("/hq/messages")

    assert page.status_code == 200, page.text
    assert 'href="/hq/messages" aria-current="page"' in page.text  # in the HQ nav
    everything = ids_on(page.text)
    assert sent["sms"] == everything[0] and len(everything) >= 3
    assert CUSTOMER_EMAIL in page.text and "+447700900123" in page.text
    assert f'href="/hq/customers/{seeded.customer_id}"' in page.text
    assert f'href="/hq/orders/{seeded.pickup_order}"' in page.text
    assert "Order confirmed" in page.text
    assert "retrying" in page.text and "recording mailer told to fail" in page.text
    assert re.search(r"\(\d+ characters\)", page.text)  # an SMS shows its length


@pytest.mark.parametrize(
    ("query", "expect"),
    [
        ("channel=sms", "only the sms"),
        ("state=queued", "only the sms"),
        ("state=retrying", "one email"),
        ("kind=delivered", "only the sms"),
        ("state=failed", "none"),
        ("since=2999-01-01", "none"),
    ],
)
def test_the_filters_select_messages(
    web: TestClient, sent: dict[str, int], query: str, expect: str
) -> None:
    sign_in(web, "agent")
    everything = ids_on(web.get("/hq/messages").text)

    found = ids_on(web.get(f"/hq/messages?{query}").text)

    if expect == "only the sms":
        assert found == [sent["sms"]]
    elif expect == "one email":
        assert len(found) == 1 and found[0] in everything and found[0] != sent["sms"]
    else:
        assert found == []


def test_the_customer_filter_and_paging(web: TestClient, seeded: Seeded, sent: dict[str, int]):
    sign_in(web, "agent")
    everything = ids_on(web.get("/hq/messages").text)

    mine = ids_on(web.get(f"/hq/messages?customer_id={seeded.customer_id}").text)
    nobody = ids_on(web.get(f"/hq/messages?customer_id={seeded.customer_id + 999}").text)
    bad = web.get("/hq/messages?customer_id=abc")

    assert mine == everything and nobody == []
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    assert web.get("/hq/messages?page=2").status_code == 200
    assert ids_on(web.get("/hq/messages?page=2").text) == []  # fewer than a page


def test_an_email_is_rendered_in_a_sandboxed_frame(web: TestClient, sent: dict[str, int]):
    sign_in(web, ADMIN)
    email_id = next(i for i in ids_on(web.get("/hq/messages?channel=email").text))

    page = web.get(f"/hq/messages/{email_id}")
    framed = web.get(f"/hq/messages/{email_id}/email.html")
    sms_page = web.get(f"/hq/messages/{sent['sms']}")

    assert page.status_code == 200
    assert f'sandbox="" referrerpolicy="no-referrer" src="/hq/messages/{email_id}/email.html"' in (
        page.text
    )
    assert "Plain-text part" in page.text
    assert framed.status_code == 200 and "<html" in framed.text.lower()
    assert CUSTOMER_EMAIL not in framed.headers.get("content-security-policy", "")
    assert "sandbox" in framed.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in framed.headers["content-security-policy"]
    assert framed.headers["x-frame-options"] == "SAMEORIGIN"
    assert sms_page.status_code == 200 and "+447700900123" in sms_page.text
    assert "characters" in sms_page.text and "<iframe" not in sms_page.text
    assert web.get(f"/hq/messages/{sent['sms']}/email.html").status_code == 404
    assert web.get("/hq/messages/999999").status_code == 404


@pytest.mark.parametrize("who", ["marketer", ASSOCIATE, CUSTOMER_EMAIL])
def test_roles_without_messages_read_are_refused_and_see_nothing_personal(
    web: TestClient, sent: dict[str, int], who: str
) -> None:
    sign_in(web, who)

    for url in (
        "/hq/messages",
        f"/hq/messages/{sent['sms']}",
        f"/hq/messages/{sent['sms']}/email.html",
    ):
        refused = web.get(url)
        assert refused.status_code == 403, (who, url)
        assert "+447700900123" not in refused.text and CUSTOMER_EMAIL not in refused.text


def test_the_nav_links_the_log_only_for_roles_that_may_open_it(
    web: TestClient, sent: dict[str, int]
) -> None:
    sign_in(web, "marketer")
    assert 'href="/hq/messages"' not in web.get("/hq").text
    web.cookies.clear()
    sign_in(web, "agent")
    assert 'href="/hq/messages"' in web.get("/hq").text


def test_anonymous_visitors_are_sent_to_sign_in(web: TestClient, sent: dict[str, int]) -> None:
    r = web.get("/hq/messages?channel=sms")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")
