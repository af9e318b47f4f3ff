"""The HQ sending pages: the send policy as a form (saved through the API's schema, a refusal
beside its field), the send log (filters, counts, each outcome in words, for sends queued and
delivered as journeys do), the suppression list (add, remove after a confirmation); a
service agent reads but cannot change; store staff and customers have no such pages."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from omniretail.auth.models import Role
from omniretail.bootstrap import Container
from omniretail.customers import service as customers
from omniretail.customers.schemas import ConsentWrite
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import MessageCreate, QuietHours, SendPolicy
from omniretail.marketing.sending import SendRequest
from tests.customers.helpers import make_customer
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import ASSOCIATE, CUSTOMER_EMAIL, Seeded, add_staff

MESSAGE = MessageCreate(code="hello", name="Hello", subject="Hello", body="Hi there.")


def _consent(container: Container, customer: int, channel: str) -> None:
    with container.uow() as uow:
        customers.set_consent(
            uow,
            customer,
            ConsentWrite.model_validate(
                {"purpose": "marketing", "channel": channel, "granted": True}
            ),
            actor="test",
        )


def _sends(container: Container, clock: Any) -> tuple[int, int]:
    """Grace (email consent) is sent one and held in quiet hours for another; Bob (no consent)
    is not sent one."""
    ada = make_customer(container, "Grace Hopper", email="grace@example.com", verified=True)
    bob = make_customer(container, "Bob Builder", email="bob@example.com", verified=True)
    _consent(container, ada, "email")
    with container.uow() as uow:
        marketing.create_message(uow, MESSAGE)
        marketing.put_policy(uow, SendPolicy(control_group_percent=0, quiet_hours=None))

    def queue(key: str, customer: int) -> None:
        request = SendRequest(key=key, customer_id=customer, message="hello", channel="email")
        with container.uow() as uow:
            marketing.queue_sends(uow, [request])

    queue("sent", ada)
    queue("no-consent", bob)
    marketing.deliver_due(container.uow)
    with container.uow() as uow:
        quiet = QuietHours(start="21:00", end="08:00")
        marketing.put_policy(uow, SendPolicy(control_group_percent=0, quiet_hours=quiet))
    clock.advance(hours=13)  # 22:00 in London
    queue("held", ada)
    marketing.deliver_due(container.uow)
    return ada, bob


def _row(html: str, send_id: int) -> str:
    start = html.index(f'id="send-{send_id}"')
    return html[start : html.index("</tr>", start)]


def _id(container: Container, key: str) -> int:
    with container.read_uow() as uow:
        found = marketing.get_send(uow, key)
        assert found is not None
        return found.id


def test_the_policy_is_saved_and_a_bad_value_is_shown_beside_its_field(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    add_staff(container, "marketer", Role.MARKETER)
    sign_in(web, "marketer")
    page = web.get("/hq/marketing/policy")
    assert page.status_code == 200
    assert "Transactional messages" in page.text and "Quiet hours" in page.text
    assert 'href="/hq/marketing/policy" aria-current="page"' in page.text  # the sub-nav
    assert 'name="caps.email.count" type="number" value="3"' in page.text  # the defaults
    token = csrf_of(page.text)
    form = {
        "csrf_token": token,
        "control_group_percent": "2.5",
        "default_zone": "Europe/Paris",
        "quiet_hours.start": "22:00",
        "quiet_hours.end": "07:30",
        "caps.email.count": "2",
        "caps.email.days": "7",
        "caps.push.count": "1",
        "caps.push.days": "1",
        "total.count": "",
        "total.days": "",
    }

    bad = web.post(
        "/hq/marketing/policy",
        data={**form, "quiet_hours.end": "25:00", "caps.push.days": "", "default_zone": "Mars"},
    )
    assert bad.status_code == 422
    assert 'id="f-quiet_hours-end-error"' in bad.text
    assert 'id="f-caps-push-days-error"' in bad.text
    assert 'id="f-default_zone-error"' in bad.text and "not a known time zone" in bad.text
    assert 'value="Mars"' in bad.text  # what was typed stays
    with container.read_uow() as uow:
        assert marketing.get_policy(uow) == SendPolicy()

    saved = web.post("/hq/marketing/policy", data=form)
    assert saved.status_code == 303
    with container.read_uow() as uow:
        policy = marketing.get_policy(uow)
    assert policy.control_group_percent == 2.5 and policy.default_zone == "Europe/Paris"
    assert policy.quiet_hours == QuietHours(start="22:00", end="07:30")
    assert {c: (cap.count, cap.days) for c, cap in policy.caps.items()} == {
        "email": (2, 7),
        "push": (1, 1),
    }
    assert policy.total is None
    again = web.get("/hq/marketing/policy")
    assert 'name="quiet_hours.start" type="time" value="22:00"' in again.text


def test_the_send_log_filters_counts_and_says_why(
    container: Container, web: TestClient, seeded: Seeded, clock: Any
) -> None:
    ada, bob = _sends(container, clock)
    add_staff(container, "marketer", Role.MARKETER)
    sign_in(web, "marketer")

    page = web.get("/hq/marketing/sends")
    assert page.status_code == 200
    sent, refused, held = (_id(container, k) for k in ("sent", "no-consent", "held"))
    assert "sent by email" in _row(page.text, sent)
    assert "not sent: no marketing consent for email" in _row(page.text, refused)
    assert "held for quiet hours until 08:00" in _row(page.text, held)
    # a marketer has no customers:read: the customer's number, no name, no link
    assert "Grace" not in page.text and "Hopper" not in page.text and "Bob B" not in page.text
    assert f"Customer #{bob}" in _row(page.text, refused)
    assert f'href="/hq/customers/{ada}"' not in page.text
    counts = page.text[page.text.index('id="counts-status"') :]
    assert "<dt>Sent</dt><dd>1</dd>" in counts and "<dt>Held</dt><dd>1</dd>" in counts
    assert "<dt>no marketing consent</dt><dd>1</dd>" in counts

    by_status = web.get("/hq/marketing/sends", params={"status": "suppressed"})
    assert f'id="send-{refused}"' in by_status.text
    assert f'id="send-{sent}"' not in by_status.text and f'id="send-{held}"' not in by_status.text
    by_customer = web.get("/hq/marketing/sends", params={"customer": str(ada)})
    assert (
        f'id="send-{sent}"' in by_customer.text and f'id="send-{refused}"' not in by_customer.text
    )
    by_reason = web.get("/hq/marketing/sends", params={"reason": "quiet_hours"})
    assert f'id="send-{held}"' in by_reason.text and f'id="send-{sent}"' not in by_reason.text
    later = web.get("/hq/marketing/sends", params={"since": "2030-01-01"})
    assert "No send matches." in later.text and "<dt>Sent</dt><dd>0</dd>" in later.text
    bad = web.get("/hq/marketing/sends", params={"since": "yesterday", "customer": "x"})
    assert bad.status_code == 422
    assert 'id="f-since-error"' in bad.text and 'id="f-customer-error"' in bad.text

    # An administrator (customers:read) gets the (masked) name and the link to the customer.
    web.cookies.clear()
    sign_in(web, "hq-admin")
    page = web.get("/hq/marketing/sends")
    assert f'href="/hq/customers/{ada}"' in page.text
    assert "Grace H." in _row(page.text, held) and "Hopper" not in page.text


def test_a_suppression_is_added_and_removed_after_a_confirmation(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    add_staff(container, "marketer", Role.MARKETER)
    sign_in(web, "marketer")
    cid = seeded.customer_id
    page = web.get("/hq/marketing/suppressions")
    assert page.status_code == 200 and "No one is suppressed." in page.text
    token = csrf_of(page.text)

    unknown = web.post(
        "/hq/marketing/suppressions",
        data={"csrf_token": token, "customer_id": "999999", "channel": "sms", "reason": "manual"},
    )
    assert unknown.status_code == 404 and 'id="f-customer_id-error"' in unknown.text
    bad = web.post(
        "/hq/marketing/suppressions",
        data={"csrf_token": token, "customer_id": "1", "channel": "fax", "reason": "manual"},
    )
    assert bad.status_code == 422 and 'id="f-channel-error"' in bad.text

    added = web.post(
        "/hq/marketing/suppressions",
        data={"csrf_token": token, "customer_id": str(cid), "channel": "sms", "reason": "bounced"},
    )
    assert added.status_code == 303
    listed = web.get("/hq/marketing/suppressions")
    assert f'id="suppression-{cid}-sms"' in listed.text

    asked = web.post(f"/hq/marketing/suppressions/{cid}/sms/remove", data={"csrf_token": token})
    assert asked.status_code == 200 and 'id="confirm-remove"' in asked.text
    with container.read_uow() as uow:
        assert len(marketing.list_suppressions(uow)) == 1  # not yet
    removed = web.post(
        f"/hq/marketing/suppressions/{cid}/sms/remove",
        data={"csrf_token": token, "confirm": "yes"},
    )
    assert removed.status_code == 303
    with container.read_uow() as uow:
        assert marketing.list_suppressions(uow) == []
    gone = web.post(
        f"/hq/marketing/suppressions/{cid}/sms/remove",
        data={"csrf_token": token, "confirm": "yes"},
    )
    assert gone.status_code == 404


def test_a_service_agent_reads_and_store_staff_and_customers_do_not(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    add_staff(container, "agent", Role.SERVICE_AGENT)
    sign_in(web, "agent")
    for url in ("/hq/marketing/policy", "/hq/marketing/sends", "/hq/marketing/suppressions"):
        page = web.get(url)
        assert page.status_code == 200, url
        assert 'href="/hq/marketing/sends"' in page.text  # the sub-nav
        assert 'type="submit" class="primary">Save' not in page.text
        assert "Suppress a customer" not in page.text
    token = csrf_of(web.get("/hq/marketing/policy").text)
    refused = web.post(
        "/hq/marketing/policy",
        data={"csrf_token": token, "control_group_percent": "0", "default_zone": "UTC"},
    )
    assert refused.status_code == 403
    with container.read_uow() as uow:
        assert marketing.get_policy(uow) == SendPolicy()

    for username in (ASSOCIATE, CUSTOMER_EMAIL):
        web.cookies.clear()
        sign_in(web, username)
        for url in ("/hq/marketing/policy", "/hq/marketing/sends", "/hq/marketing/suppressions"):
            assert web.get(url, follow_redirects=False).status_code in (303, 403), url
