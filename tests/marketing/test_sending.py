"""Sending: the one decision at send time (consent now, quiet hours, caps and priority,
holdout and the control group, the premise), exactly once, and delivery through the relay to a
real SMTP server."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select, update

from omniretail.bootstrap import Container
from omniretail.customers import service as customers
from omniretail.customers.models import Identity
from omniretail.customers.schemas import ConsentWrite
from omniretail.marketing import sending_delivery as marketing_delivery
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import Cap, MessageCreate, QuietHours, SendPolicy
from omniretail.marketing.sending import SendRequest
from omniretail.marketing.sending_decision import in_control_group
from omniretail.messaging.mail import SmtpConfig, SmtpMailer
from omniretail.notifications.models import Notification
from tests.customers.helpers import make_customer

MESSAGE = MessageCreate(
    code="hello",
    name="Hello",
    subject="{{ customer.first_name }}, hello",
    body="Hi {{ customer.first_name }}, {{ product.name }} is back.",
    link_url="https://shop.example.com/x",
)


def consent(container: Container, customer: int, channel: str, granted: bool = True) -> None:
    with container.uow() as uow:
        customers.set_consent(
            uow,
            customer,
            ConsentWrite.model_validate(
                {"purpose": "marketing", "channel": channel, "granted": granted}
            ),
            actor="test",
        )


def policy(container: Container, **changes: Any) -> None:
    values: dict[str, Any] = {"control_group_percent": 0, "quiet_hours": None, **changes}
    with container.uow() as uow:
        marketing.put_policy(uow, SendPolicy(**values))


def queue(container: Container, *requests: SendRequest) -> int:
    with container.uow() as uow:
        return marketing.queue_sends(uow, list(requests))


def deliver(container: Container) -> int:
    return marketing.deliver_due(container.uow)


def send(container: Container, key: str) -> Any:
    with container.read_uow() as uow:
        return marketing.get_send(uow, key)


def notifications(container: Container) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count(Notification.id))) or 0)


@pytest.fixture
def ada(container: Container) -> int:
    # Not in the control group at 5 % (the hash is stable), so tests can use the default too.
    customer = make_customer(container, "Ada Lovelace", email="ada@example.com", verified=True)
    consent(container, customer, "email")
    with container.uow() as uow:
        marketing.create_message(uow, MESSAGE)
    policy(container)
    return customer


def email(customer: int, key: str = "k1", **extra: Any) -> SendRequest:
    return SendRequest(key=key, customer_id=customer, message="hello", channel="email", **extra)


def test_a_send_is_queued_once_and_sent_once(container: Container, ada: int) -> None:
    assert queue(container, email(ada)) == 1
    assert queue(container, email(ada)) == 0  # the same key: nothing new

    assert deliver(container) == 1
    assert deliver(container) == 0

    sent = send(container, "k1")
    assert (sent.status, sent.channel, sent.reason) == ("sent", "email", None)
    assert notifications(container) == 1


def test_consent_withdrawn_between_queueing_and_sending_is_not_sent(
    container: Container, ada: int
) -> None:
    queue(container, email(ada))
    consent(container, ada, "email", granted=False)

    deliver(container)

    assert (send(container, "k1").status, send(container, "k1").reason) == ("suppressed", "consent")
    assert notifications(container) == 0


def test_transactional_needs_no_marketing_consent(container: Container, ada: int) -> None:
    consent(container, ada, "email", granted=False)
    queue(container, email(ada, transactional=True))
    deliver(container)
    assert send(container, "k1").status == "sent"


def test_quiet_hours_hold_then_send_after_the_window(
    container: Container, clock: Any, ada: int
) -> None:
    policy(container, quiet_hours=QuietHours(start="21:00", end="08:00"))
    clock.advance(hours=13)  # 22:00 in London (GMT in November)
    queue(container, email(ada))

    deliver(container)
    held = send(container, "k1")
    assert (held.status, held.reason) == ("held", "quiet_hours")
    assert held.due_at.isoformat() == "2026-11-03T08:00:00+00:00"
    assert notifications(container) == 0

    clock.advance(hours=5)  # 03:00: still held, not due
    assert deliver(container) == 0
    clock.advance(hours=5, minutes=1)
    assert deliver(container) == 1
    assert send(container, "k1").status == "sent"
    assert notifications(container) == 1


def test_caps_drop_the_lower_priority_and_never_the_transactional(
    container: Container, ada: int
) -> None:
    policy(container, caps={"email": Cap(count=1, days=1)}, total=None)
    queue(
        container,
        email(ada, "low", priority=10),
        email(ada, "high", priority=90),
        email(ada, "receipt", transactional=True),
    )

    deliver(container)

    assert send(container, "high").status == "sent"
    assert (send(container, "low").status, send(container, "low").reason) == ("dropped", "cap")
    assert send(container, "receipt").status == "sent"
    assert notifications(container) == 2


def test_holdout_and_control_group_are_recorded_never_sent(container: Container, ada: int) -> None:
    queue(container, email(ada, "held-out", holdout=True))
    deliver(container)
    assert (send(container, "held-out").status, send(container, "held-out").reason) == (
        "suppressed",
        "holdout",
    )

    policy(container, control_group_percent=50)
    others = [make_customer(container, f"C {i}", email=f"c{i}@example.com") for i in range(12)]
    for other in others:
        consent(container, other, "email")
    queue(container, *(email(c, f"cg{c}") for c in others))
    deliver(container)
    controls = [c for c in others if in_control_group(c, 50)]
    assert controls  # 12 customers at 50 %: some are in it
    for c in others:
        expected = ("suppressed", "control_group") if c in controls else ("sent", None)
        assert (send(container, f"cg{c}").status, send(container, f"cg{c}").reason) == expected
    assert notifications(container) == len(others) - len(controls)


def test_out_of_stock_premise_is_not_sent(container: Container, ada: int) -> None:
    queue(container, email(ada, premise="in_stock", context={"sku": "NOPE", "store": "NONE"}))
    deliver(container)
    assert (send(container, "k1").status, send(container, "k1").reason) == (
        "suppressed",
        "out_of_stock",
    )


def test_suppression_and_unknown_address(container: Container, ada: int) -> None:
    with container.uow() as uow:
        marketing.suppress(uow, marketing_suppression(ada))
    other = make_customer(container, "No Mail")
    consent(container, other, "email")
    queue(container, email(ada), email(other, "k2"))
    deliver(container)
    assert send(container, "k1").reason == "suppressed"
    assert send(container, "k2").reason == "no_address"


def test_an_address_on_file_that_is_no_mailbox_is_not_sent_and_the_rest_go(
    container: Container, ada: int
) -> None:
    """An address stored before addresses were checked (a list: it would mail a stranger) is
    a reason of its own, not a failed batch: everyone else's send goes."""
    other = make_customer(container, "Mallory", email="mallory@example.com", verified=True)
    consent(container, other, "email")
    with container.uow() as uow:
        uow.session.execute(
            update(Identity)
            .where(Identity.customer_id == other)
            .values(value_enc=uow.vault.encrypt("identity", "m@example.com, v@example.org"))
        )
    queue(container, email(ada), email(other, "k2"))
    deliver(container)
    assert (send(container, "k1").status, send(container, "k2").status) == ("sent", "suppressed")
    assert send(container, "k2").reason == "bad_address"
    assert notifications(container) == 1


def marketing_suppression(customer: int) -> Any:
    from omniretail.marketing.schemas import SuppressionWrite

    return SuppressionWrite(customer_id=customer, channel="email", reason="bounced")


def test_preferred_channel_and_inbox_card(container: Container, ada: int) -> None:
    with container.uow() as uow:
        marketing.set_attribute(uow, ada, "preferred_channel", "sms")  # not consented
    queue(
        container,
        SendRequest(key="p", customer_id=ada, message="hello", channel="preferred"),
        SendRequest(key="i", customer_id=ada, message="hello", channel="inbox"),
        SendRequest(key="r", customer_id=ada, message="hello", channel="receipt"),
    )
    deliver(container)
    assert send(container, "p").channel == "email"
    with container.uow() as uow:
        (card,) = marketing.cards(uow, ada, "inbox")
        assert card.title == "Ada, hello"
        assert marketing.take_receipt_lines(uow, ada) == ["Ada, hello"]
        assert marketing.take_receipt_lines(uow, ada) == []


def test_two_workers_in_parallel_send_each_key_once(container: Container, ada: int) -> None:
    queue(container, *(email(ada, f"k{i}", transactional=True) for i in range(60)))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            marketing.deliver_due(container.uow, limit=7)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert deliver(container) == 0
    assert notifications(container) == 60
    with container.read_uow() as uow:
        assert len(marketing.list_sends(uow, status="sent", limit=1000)) == 60


def test_a_batch_that_fails_before_its_commit_is_decided_again_at_once_and_once(
    container: Container, ada: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that dies mid-batch leaves nothing behind: no status, no notification, no
    lease to wait for; the next pass decides every send of the batch, each once."""
    queue(container, *(email(ada, f"k{i}", transactional=True) for i in range(5)))
    real = marketing_delivery.notifications.notify_rendered

    def crash(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # the notification rows are written, then the worker dies
        raise RuntimeError("killed mid-batch")

    monkeypatch.setattr(marketing_delivery.notifications, "notify_rendered", crash)
    with pytest.raises(RuntimeError):
        deliver(container)
    assert notifications(container) == 0
    with container.read_uow() as uow:
        assert marketing.count_sends(uow) == {("queued", None): 5}
    monkeypatch.undo()

    assert deliver(container) == 5
    assert deliver(container) == 0
    assert notifications(container) == 5
    with container.read_uow() as uow:
        assert marketing.count_sends(uow) == {("sent", None): 5}
        sent = marketing.list_sends(uow, status="sent")
    assert all(s.notification_id and s.sent_at and s.decided_at for s in sent)


def test_an_email_send_reaches_the_smtp_server_through_the_relay(
    container: Container, clock: Any, ada: int, smtp_server: Any
) -> None:
    container.senders.mailer = SmtpMailer(
        SmtpConfig(host=smtp_server.host, port=smtp_server.port, sender="Shop <shop@example.com>")
    )
    queue(container, email(ada))
    deliver(container)
    assert smtp_server.received == []

    container.relay().run_until_idle()

    ((_, rcpt_tos, message),) = smtp_server.received
    assert rcpt_tos == ["ada@example.com"]
    assert message["Subject"] == "Ada, hello"


def test_policy_suppressions_and_sends_over_the_api(
    client: Any, container: Container, ada: int
) -> None:
    body = client.get("/api/v1/marketing/policy").json()
    assert body["control_group_percent"] == 0
    body["control_group_percent"] = 7
    assert client.put("/api/v1/marketing/policy", json=body).json()["control_group_percent"] == 7
    made = client.post("/api/v1/marketing/suppressions", json={"customer_id": ada})
    assert made.status_code == 201
    assert client.get("/api/v1/marketing/suppressions").json()[0]["channel"] == "all"
    assert client.delete(f"/api/v1/marketing/suppressions/{ada}/all").status_code == 204
    assert client.delete(f"/api/v1/marketing/suppressions/{ada}/all").status_code == 404
    queue(container, email(ada))
    assert [s["key"] for s in client.get("/api/v1/marketing/sends?status=queued").json()] == ["k1"]


def test_the_signed_in_customer_reads_and_dismisses_their_inbox(
    client: Any, container: Container, ada: int
) -> None:
    from omniretail.auth import service as auth
    from omniretail.auth.models import Role
    from omniretail.auth.schemas import PrincipalCreate
    from tests.auth.test_role_matrix import PASSWORD, sign_in

    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=ada, password=PASSWORD)
        )
    me = sign_in(client, "ada@example.com")
    queue(container, SendRequest(key="i", customer_id=ada, message="hello", channel="inbox"))
    deliver(container)

    (card,) = client.get("/api/v1/marketing/inbox", headers=me).json()
    assert (card["title"], card["seen_at"]) == ("Ada, hello", None)
    seen = client.post(f"/api/v1/marketing/inbox/{card['id']}/seen", headers=me)
    assert seen.json()["seen_at"] is not None
    client.post(f"/api/v1/marketing/inbox/{card['id']}/dismiss", headers=me)
    assert client.get("/api/v1/marketing/inbox", headers=me).json() == []
    assert client.get("/api/v1/marketing/inbox").status_code == 422  # staff have no inbox


def test_unsubscribing_by_link_suppresses_the_channel(
    client: Any, container: Container, ada: int
) -> None:
    with container.uow() as uow:
        rendition = marketing.render_for(uow, "hello", ada, "email")
    link = rendition.text.rsplit("Unsubscribe: ", 1)[1].strip()
    assert client.post(link).status_code == 200
    with container.read_uow() as uow:
        (row,) = marketing.list_suppressions(uow, customer_id=ada)
    assert (row.channel, row.reason) == ("email", "unsubscribed")
