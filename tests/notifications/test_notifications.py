"""Notifications: templates for every kind and channel, notify() recording once per source
event, and sending through a real SMTP server and the SMS/push ports after commit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select

from omniretail.db.outbox import OutboxMessage
from omniretail.kernel.errors import InvalidRequest
from omniretail.kernel.events import DomainEvent
from omniretail.messaging.handlers import UowFactory
from omniretail.messaging.mail import RecordingMailer, SmtpConfig, SmtpMailer
from omniretail.messaging.senders import RecordingPushSender, RecordingSmsSender
from omniretail.notifications.errors import NotificationContextIncomplete, UnknownNotificationKind
from omniretail.notifications.models import Notification
from omniretail.notifications.rendering import KINDS, render
from omniretail.notifications.service import Notice, notify, notify_many
from tests.loopback import free_port
from tests.messaging.conftest import deliveries, record

CONTEXT: dict[str, Any] = {
    "order_number": "WEB-1001",
    "customer_name": "Ann & <Bob>",
    "items": [
        {"name": "White hanging heart T-light holder", "quantity": 2, "line_total": "5.90"},
        {"name": "Regency cakestand 3 tier", "quantity": 1, "line_total": "12.75"},
    ],
    "total": "18.65",
    "currency": "GBP",
    "pickup_code": "K7Q2-9D",
    "store": {
        "name": "London Oxford St",
        "address": "300 Oxford St, London W1C 1DX",
        "hours": "Mon-Sat 9:00-21:00",
    },
    "tracking_url": "https://shop.example/orders/WEB-1001?t=abc",
    "carrier": "Royal Mail",
    "tracking_number": "RM123456785GB",
    "refund_amount": "12.75",
    "difference": "-12.75",
    "return_code": "R-7K3M-Q9XP",
    "method": "post",
    "return_by": "2026-12-31",
    "title": "Happy birthday",
    "coupon_code": "BDAY-K7Q2M9XPRT",
    "offer": "10 % off your basket",
    "valid_until": "2026-12-03",
}
# What each kind's message must mention, on every channel.
ESSENTIALS = {
    "order_confirmed": ["WEB-1001", "£18.65"],
    "ready_for_pickup": ["WEB-1001", "K7Q2-9D", "London Oxford St"],
    "pickup_reminder": ["WEB-1001", "K7Q2-9D", "London Oxford St"],
    "pickup_store_changed": ["WEB-1001", "London Oxford St"],
    "shipped": ["WEB-1001", "Royal Mail", "RM123456785GB"],
    "delivered": ["WEB-1001"],
    "refunded": ["WEB-1001", "£12.75"],
    "cancelled": ["WEB-1001", "cancelled"],
    "exchanged": ["WEB-1001", "£12.75"],
    "curbside_arrived": ["WEB-1001", "London Oxford St"],
    "receipt": ["WEB-1001", "£18.65"],
    "return_requested": ["WEB-1001", "R-7K3M-Q9XP", "2026-12-31"],
    "loyalty_coupon": ["BDAY-K7Q2M9XPRT", "10 % off your basket", "2026-12-03"],
}


def count(container, model: type[Any]) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


# --- templates -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_on_every_channel(kind):
    email = render(kind, "email", CONTEXT)
    sms = render(kind, "sms", CONTEXT)
    push = render(kind, "push", CONTEXT)

    for text in (email.body, email.html, sms.body, push.body):
        assert text is not None
        for essential in ESSENTIALS[kind]:
            assert essential in text, (kind, essential, text)
    assert email.subject is not None
    # about an order, or (a programme coupon) about the code
    assert ("BDAY-K7Q2M9XPRT" if kind == "loyalty_coupon" else "WEB-1001") in email.subject
    assert email.subject == push.subject
    assert "\n" not in email.subject and "\n" not in sms.body and "\n" not in push.body
    assert sms.subject is None and sms.html is None
    # HTML escapes what the customer typed; the text parts carry it verbatim.
    assert email.html is not None
    assert "Ann &amp; &lt;Bob&gt;" in email.html and "<Bob>" not in email.html
    if kind != "curbside_arrived":  # that one goes to the store's team, not the customer
        assert "Hello Ann & <Bob>," in email.body
    else:
        assert "(Ann & <Bob>)" in email.body
    assert "{{" not in email.body + email.html + sms.body + push.body


def test_order_confirmed_email_lists_items_total_and_tracking_link():
    email = render("order_confirmed", "email", CONTEXT)

    assert email.subject == "Order WEB-1001 confirmed"
    assert "- 2 x White hanging heart T-light holder  £5.90\n" in email.body
    assert "- 1 x Regency cakestand 3 tier  £12.75\n" in email.body
    assert "Total: £18.65\n" in email.body
    assert "Follow your order: https://shop.example/orders/WEB-1001?t=abc\n" in email.body
    assert email.html is not None
    assert '<a href="https://shop.example/orders/WEB-1001?t=abc"' in email.html


def test_optional_fields_may_be_left_out():
    minimal = {"order_number": "WEB-2", "customer_name": "Ann"}

    sms = render("delivered", "sms", minimal)
    email = render("delivered", "email", minimal)

    assert sms.body == "Omniretail: order WEB-2 has been delivered."
    assert "Order details" not in email.body


def test_a_missing_required_field_or_unknown_kind_is_refused():
    with pytest.raises(NotificationContextIncomplete) as missing:
        render("shipped", "email", {"order_number": "WEB-1", "customer_name": "Ann"})
    assert missing.value.detail == "shipped needs carrier, tracking_number in its context"
    with pytest.raises(NotificationContextIncomplete) as nested:
        render("ready_for_pickup", "sms", {**CONTEXT, "store": {"name": "LON1"}})
    assert "address" in nested.value.detail
    with pytest.raises(UnknownNotificationKind):
        render("birthday", "email", CONTEXT)


# --- notify(): recorded once, sent after commit by the relay -------------------------------


def test_notify_records_once_per_source_event_channel_and_kind(container, clock):
    with container.uow() as uow:
        first = notify(uow, "shipped", "sms", "+447700900123", CONTEXT, "event-1", customer_ref="7")
        again = notify(uow, "shipped", "sms", "+447700900123", CONTEXT, "event-1", customer_ref="7")
        email = notify(uow, "shipped", "email", "ann@example.com", CONTEXT, "event-1")

    assert again.id == first.id
    assert email.id != first.id
    assert (first.status, first.channel, first.kind, first.customer_ref) == (
        "queued",
        "sms",
        "shipped",
        "7",
    )
    assert first.created_at == clock.now() and first.sent_at is None
    assert first.body.startswith("Omniretail: order WEB-1001 shipped with Royal Mail")
    assert count(container, Notification) == 2
    with container.read_uow() as uow:
        queued = list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.position)))
    assert [(m.type, m.data) for m in queued] == [
        (
            "omniretail.messaging.notification_queued",
            {"notification_id": first.id, "channel": "sms", "kind": "shipped"},
        ),
        (
            "omniretail.messaging.notification_queued",
            {"notification_id": email.id, "channel": "email", "kind": "shipped"},
        ),
    ]


def test_notify_with_bad_input_writes_nothing(container):
    for args in (
        ("shipped", "email", "ann@example.com", {"order_number": "WEB-1"}),
        ("shipped", "email", "not-an-address", CONTEXT),
        ("shipped", "fax", "ann@example.com", CONTEXT),
        ("unboxed", "sms", "+447700900123", CONTEXT),
    ):
        with pytest.raises(InvalidRequest), container.uow() as uow:
            notify(uow, *args, source_event_id="event-1")

    assert count(container, Notification) == 0
    assert count(container, OutboxMessage) == 0


def test_email_arrives_at_a_real_smtp_server_with_text_and_html_parts(
    container, clock, smtp_server
):
    container.senders.mailer = SmtpMailer(
        SmtpConfig(host=smtp_server.host, port=smtp_server.port, sender="Shop <shop@example.com>")
    )
    with container.uow() as uow:
        queued = notify(uow, "ready_for_pickup", "email", "ann@example.com", CONTEXT, "event-9")
    assert smtp_server.received == []  # nothing leaves inside the transaction

    clock.advance(minutes=1)
    report = container.relay().run_until_idle()

    assert (report.delivered, report.published) == (1, 1)
    ((mail_from, rcpt_tos, message),) = smtp_server.received
    assert (mail_from, rcpt_tos) == ("shop@example.com", ["ann@example.com"])
    assert message["Subject"] == "Order WEB-1001 is ready for pickup at London Oxford St"
    assert message["To"] == "ann@example.com"
    assert message["Message-ID"] == f"<notification-{queued.id}.event-9@omniretail>"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert "Pickup code: K7Q2-9D" in text.get_content()
    assert "Hello Ann & <Bob>," in text.get_content()
    assert "<strong>K7Q2-9D</strong>" in html.get_content()
    assert "Ann &amp; &lt;Bob&gt;" in html.get_content()
    with container.read_uow() as uow:
        stored = uow.session.get(Notification, queued.id)
        assert stored is not None
        assert (stored.status, stored.sent_at) == ("sent", clock.now())


def test_email_to_an_unreachable_smtp_server_is_retried_not_lost(container, clock):
    container.senders.mailer = SmtpMailer(
        SmtpConfig(host="127.0.0.1", port=free_port(), timeout_seconds=2)
    )
    with container.uow() as uow:
        notify(uow, "delivered", "email", "ann@example.com", CONTEXT, "event-3")

    report = container.relay().run_until_idle()

    assert (report.retried, report.delivered) == (1, 0)
    (delivery,) = deliveries(container)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("ConnectionRefusedError")
    recording = RecordingMailer()
    container.senders.mailer = recording
    clock.advance(seconds=container.settings.relay_backoff_base_seconds)

    assert container.relay().run_until_idle().delivered == 1
    assert [m.subject for m in recording.sent] == ["Order WEB-1001 has been delivered"]


def test_sms_and_push_go_through_their_ports(container):
    sms, push = RecordingSmsSender(), RecordingPushSender()
    container.senders.sms, container.senders.push = sms, push
    with container.uow() as uow:
        notify(uow, "pickup_reminder", "sms", "+447700900123", CONTEXT, "event-4")
        notify(uow, "pickup_reminder", "push", "device:abc", CONTEXT, "event-4")

    assert container.relay().run_until_idle().delivered == 2

    assert [(m.to, m.text) for m in sms.sent] == [
        (
            "+447700900123",
            "Omniretail reminder: order WEB-1001 is waiting at London Oxford St. "
            "Pickup code K7Q2-9D.",
        )
    ]
    assert [(m.to, m.title, m.body) for m in push.sent] == [
        (
            "device:abc",
            "Reminder: order WEB-1001 is waiting at London Oxford St",
            "Order WEB-1001 is waiting at London Oxford St. Pickup code K7Q2-9D.",
        )
    ]


class SimulatedCrash(BaseException):
    """The process dies after the handler's transaction committed, before the relay records
    the outcome."""


def test_a_redelivered_domain_event_sends_its_notification_once(container, clock):
    """A domain handler calls notify(); the relay crashes after it ran and delivers the event
    again: the notification is recorded and sent exactly once."""
    sms = RecordingSmsSender()
    container.senders.sms = sms
    runs: list[str] = []

    def on_shipped(event: dict[str, Any], uow_factory: UowFactory) -> None:
        with uow_factory() as uow:
            notify(uow, "shipped", "sms", "+447700900123", CONTEXT, event["id"])
        runs.append(event["id"])
        if len(runs) == 1:
            raise SimulatedCrash

    # A test-only event type, so the orders domain's own handlers stay out of it.
    container.handlers.add("omniretail.tests.shipped", "tests.notify_shipped", on_shipped)
    (event_id,) = record(
        container, DomainEvent("tests.shipped", "orders/WEB-1001", {"number": "WEB-1001"})
    )
    relay = container.relay()

    with pytest.raises(SimulatedCrash):
        relay.run_once()
    clock.advance(seconds=container.settings.relay_lease_seconds)
    relay.run_until_idle()

    assert runs == [event_id, event_id]
    assert count(container, Notification) == 1
    assert len(sms.sent) == 1
    assert sorted((d.handler, d.status) for d in deliveries(container)) == [
        ("messaging.send_notification", "delivered"),
        ("tests.notify_shipped", "delivered"),
    ]
    with container.read_uow() as uow:
        stored = uow.session.scalars(select(Notification)).one()
        assert (stored.status, stored.source_event_id) == ("sent", event_id)
        assert stored.sent_at == clock.now()


def test_notify_many_stores_a_batch_in_one_statement_leaving_those_stored_alone(container):
    with container.uow() as uow:
        notify(uow, "shipped", "sms", "+447700900123", CONTEXT, "event-1")
    notices = [
        Notice(
            kind="shipped",
            channel="sms",
            recipient=" +447700900123 ",
            context=CONTEXT,
            source_event_id=f"event-{n}",
        )
        for n in (1, 2, 3)
    ]
    with container.uow() as uow:
        before = container.counter.value
        queued = notify_many(uow, notices)
        assert container.counter.value - before == 1
    assert queued == 2
    with container.read_uow() as uow:
        stored = uow.session.scalars(select(Notification).order_by(Notification.id)).all()
        queued_events = uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.type.endswith("notification_queued"))
        )
    assert [n.source_event_id for n in stored] == ["event-1", "event-2", "event-3"]
    assert queued_events == 3  # one each, the redelivered one's not again


def test_every_order_event_a_customer_is_told_of_is_listed_as_customer_visible() -> None:
    from omniretail.fulfilment.handlers import NOTIFIED
    from omniretail.kernel.events import EVENT_CLASSES
    from omniretail.orders.events import CUSTOMER_VISIBLE

    notified = {event_class.type for event_class in NOTIFIED}
    assert "orders.pickup_store_changed" in notified
    assert sorted(notified - CUSTOMER_VISIBLE) == []
    assert sorted(CUSTOMER_VISIBLE - set(EVENT_CLASSES)) == []  # no stale names


def test_a_batch_of_notifications_is_sent_once_each_a_failure_retried_alone(container, clock):
    """The relay hands queued notifications to the sender in one batch: read together, each
    marked sent right after its send (a relay killed mid-batch repeats one). A send failing
    mid-batch: those sent before it are not sent again when the relay retries the batch one
    by one; the failed one is retried alone; a notification erased meanwhile is skipped."""
    recording = RecordingMailer()
    container.senders.mailer = recording
    with container.uow() as uow:
        for n in range(4):
            notify(uow, "delivered", "email", f"p{n}@example.com", CONTEXT, f"event-b{n}")
        notify(uow, "delivered", "email", "gone@example.com", CONTEXT, "event-gone")
    with container.uow() as uow:
        uow.session.execute(
            delete(Notification).where(Notification.source_event_id == "event-gone")
        )
    original = recording.send
    calls: list[str] = []

    def send(email: Any) -> None:
        calls.append(email.to)
        if email.to == "p2@example.com" and calls.count(email.to) <= 2:  # batch, then alone
            raise ConnectionError("the SMTP server hung up")
        original(email)

    recording.send = send  # type: ignore[method-assign]

    first = container.relay().run_until_idle()
    clock.advance(seconds=container.settings.relay_backoff_base_seconds * 2)
    container.relay().run_until_idle()

    assert (first.retried, first.skipped) == (1, 1)
    assert sorted(m.to for m in recording.sent) == [f"p{n}@example.com" for n in range(4)]
    # p0, p1 sent in the batch, p2 failed there and again alone, p3 alone, p2 on its retry
    assert calls == [f"p{n}@example.com" for n in (0, 1, 2, 2, 3, 2)]
    assert sorted((d.status, d.attempts) for d in deliveries(container)) == [
        ("delivered", 1),
        ("delivered", 1),
        ("delivered", 1),
        ("delivered", 2),
        ("skipped", 1),
    ]


def test_a_notification_erased_before_its_batch_is_skipped_in_it_the_others_sent(container, caplog):
    """The batch names the erased notification's event as skipped (with the reason): the
    others are sent and recorded in the same call, without a fallback to one by one."""
    recording = RecordingMailer()
    container.senders.mailer = recording
    with container.uow() as uow:
        for n in range(3):
            notify(uow, "delivered", "email", f"s{n}@example.com", CONTEXT, f"event-s{n}")
        gone = notify(uow, "delivered", "email", "gone@example.com", CONTEXT, "event-gone")
    with container.uow() as uow:
        uow.session.execute(
            delete(Notification).where(Notification.source_event_id == "event-gone")
        )

    report = container.relay().run_until_idle()

    assert "one by one" not in caplog.text
    assert (report.delivered, report.skipped) == (3, 1)
    assert sorted(m.to for m in recording.sent) == [f"s{n}@example.com" for n in range(3)]
    assert [
        d.last_error
        for d in deliveries(container)
        if d.handler == "messaging.send_notification" and d.status == "skipped"
    ] == [f"notification {gone.id} no longer exists"]


class RelayKilled(BaseException):
    """The process dying: not an Exception, so neither the relay nor a unit of work sees it."""


def test_a_relay_killed_between_a_send_and_its_mark_repeats_only_that_send(container, clock):
    """Each send of a batch is marked sent in a statement committed right after it (not at
    the end of the batch): a relay killed after the third send, before its mark, leaves the
    first two marked; the next relay (once the lease ran out) sends the third again (its
    Message-ID unchanged, so a receiver can tell) and the rest, and never the first two."""
    recording = RecordingMailer()
    container.senders.mailer = recording
    with container.uow() as uow:
        for n in range(5):
            notify(uow, "delivered", "email", f"k{n}@example.com", CONTEXT, f"event-k{n}")
    original = recording.send

    def send_then_die(email: Any) -> None:
        original(email)
        if email.to == "k2@example.com":
            raise RelayKilled

    recording.send = send_then_die  # type: ignore[method-assign]
    with pytest.raises(RelayKilled):
        container.relay().run_until_idle()
    with container.read_uow() as uow:
        marked = uow.session.scalars(select(Notification.status)).all()
    assert sorted(marked) == ["queued"] * 3 + ["sent"] * 2

    recording.send = original  # type: ignore[method-assign]
    clock.advance(seconds=container.settings.relay_lease_seconds + 1)
    container.relay().run_until_idle()

    sent = [m.to for m in recording.sent]
    assert sent == [f"k{n}@example.com" for n in (0, 1, 2, 2, 3, 4)]
    assert recording.sent[2].message_id == recording.sent[3].message_id
    with container.read_uow() as uow:
        statuses = uow.session.scalars(select(Notification.status)).all()
    assert sorted(statuses) == ["sent"] * 5
