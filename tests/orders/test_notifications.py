"""Customer notifications of an order journey arrive at a real SMTP server on loopback."""

from __future__ import annotations

import re
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

from sqlalchemy import event, func, select

from omniretail.db.outbox import OutboxMessage
from omniretail.kernel.events import cloud_event
from omniretail.messaging.mail import SmtpConfig, SmtpMailer
from omniretail.notifications.events import NotificationQueued
from omniretail.notifications.models import Notification
from omniretail.orders import service as orders
from omniretail.orders.events import OrderConfirmed
from tests.orders.network import (
    add,
    advance,
    checkout,
    make_orders_network,
    new_cart,
    ok,
    receive,
    step,
    waiting_code,
)


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_click_and_collect_notifications_arrive_by_email(container, client, clock, smtp_server):
    container.senders.mailer = SmtpMailer(
        SmtpConfig(host=smtp_server.host, port=smtp_server.port, sender="Shop <shop@example.com>")
    )
    make_orders_network(container)
    receive(container, "A1", "LON1", 1)
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="LON1"))
    order = ok(checkout(client, token, "pickup_in_store", pickup="LON1"), 201)
    [f] = order["fulfilments"]
    advance(client, f["id"], "accept", "pick", "pack", "ready")
    clock.advance(days=4, minutes=1)
    ok(client.post("/api/v1/orders/sweep-pickups"))
    pickup_code = waiting_code(container, order)

    clock.advance(minutes=1)
    container.relay().run_until_idle()
    clock.advance(minutes=1)
    container.relay().run_until_idle()  # the sends queued by the first pass
    ok(step(client, f["id"], "collect", {"override_reason": "ID checked: driving licence"}))
    container.relay().run_until_idle()
    inbox = [message for _sender, _to, message in smtp_server.received]

    subjects = [m["Subject"] for m in inbox]
    assert len(subjects) == 3, subjects
    confirmed, ready, reminder = inbox
    assert all(m["To"] == "ada@example.com" for m in inbox)
    assert order["number"] in confirmed["Subject"]
    body = _text(ready)
    code = ok(client.get(order["tracking_url"], headers={"Accept": "application/json"}))
    assert "London Oxford St" in body
    assert f"http://127.0.0.1:8000{order['tracking_url']}" in body
    assert f"Pickup code: {pickup_code}" in body
    assert "Pickup code:" in _text(reminder)
    assert code["status"] == "completed"


def test_a_cancelled_order_is_confirmed_by_email(container, client, clock, smtp_server):
    container.senders.mailer = SmtpMailer(
        SmtpConfig(host=smtp_server.host, port=smtp_server.port, sender="Shop <shop@example.com>")
    )
    make_orders_network(container)
    receive(container, "A1", "DC1", 2)
    token = new_cart(client)
    ok(add(client, token, "A1", 2))
    order = ok(checkout(client, token), 201)
    cancelled = ok(
        client.post(
            f"/api/v1/orders/{order['number']}/cancel", json={"reason": "ordered by mistake"}
        )
    )
    assert cancelled["status"] == "cancelled"

    clock.advance(minutes=1)
    container.relay().run_until_idle()
    clock.advance(minutes=1)
    container.relay().run_until_idle()

    inbox = [message for _sender, _to, message in smtp_server.received]
    assert len(inbox) == 2, [m["Subject"] for m in inbox]
    confirmed, message = inbox
    assert order["number"] in confirmed["Subject"]
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == f"Order {order['number']} cancelled"
    body = _text(message)
    assert f"Your order {order['number']} has been cancelled." in body
    assert "Reason: ordered by mistake" in body
    assert "- 2 x Item A1  £40.00" in body
    assert "the £40.00 held on your card is released" in body
    assert f"http://127.0.0.1:8000{order['tracking_url']}" in body
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "Your order has been cancelled" in str(html.get_content())


def _ten_percent_off_one_cancelled(
    container: Any, client: Any, smtp_server: Any, units: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``units`` x A1 (list 20.00) at ten percent off, one unit cancelled before any email."""
    container.senders.mailer = SmtpMailer(
        SmtpConfig(host=smtp_server.host, port=smtp_server.port, sender="Shop <shop@example.com>")
    )
    make_orders_network(container)
    ok(
        client.put(
            "/api/v1/pricing/promotions/TEN",
            json={"name": "Ten percent off", "effect": {"type": "percent_off", "percent": "10"}},
        )
    )
    receive(container, "A1", "DC1", units)
    token = new_cart(client)
    ok(add(client, token, "A1", units))
    order = ok(checkout(client, token), 201)
    cancelled = ok(
        client.post(
            f"/api/v1/orders/{order['number']}/cancel",
            json={"lines": [{"line_no": 1, "quantity": 1}]},
        )
    )
    return order, cancelled


def test_a_cancellation_email_prices_the_lines_at_what_was_paid(
    container, client, clock, smtp_server
):
    """Ten percent off: the cancelled unit shows the 18.00 it was paid and is voided, not
    its 20.00 list price (as the confirmation shows what was paid)."""
    _order, cancelled = _ten_percent_off_one_cancelled(container, client, smtp_server, 2)
    assert cancelled["payment"]["voided"] == "18.00"
    for _ in range(2):
        clock.advance(minutes=1)
        container.relay().run_until_idle()
    confirmed, message = [m for _sender, _to, m in smtp_server.received]
    assert "Total: £36.00" in _text(confirmed)
    body = _text(message)
    assert "- 1 x Item A1  £18.00" in body, body
    assert "£20.00" not in body


def test_a_confirmation_sent_after_a_cancellation_adds_up_to_its_total(
    container, client, clock, smtp_server
):
    """The confirmation is of the order as placed: a unit cancelled before the relay sends it
    is still listed (marked cancelled), so the lines add up to the total held on the card."""
    order, _cancelled = _ten_percent_off_one_cancelled(container, client, smtp_server, 3)
    for _ in range(2):
        clock.advance(minutes=1)
        container.relay().run_until_idle()
    confirmed = next(m for _s, _t, m in smtp_server.received if "cancelled" not in m["Subject"])
    body = _text(confirmed)
    items = re.findall(r"^- (\d+) x .*?  £([0-9.]+)(.*)$", body, re.M)
    total = re.search(r"^Total: £([0-9.]+)", body, re.M)
    assert total is not None and Decimal(total.group(1)) == Decimal(order["total"])
    assert sum(Decimal(amount) for _q, amount, _note in items) == Decimal(total.group(1))
    assert sorted((int(q), note.strip()) for q, _a, note in items) == [(1, "(cancelled)"), (2, "")]
    html = confirmed.get_body(preferencelist=("html",))
    assert html is not None and "<em>(cancelled)</em>" in str(html.get_content())


def test_a_batch_of_order_confirmations_is_queued_in_one_transaction(container, client):
    make_orders_network(container)
    receive(container, "A1", "LON1", 2)
    for _ in range(2):
        token = new_cart(client)
        ok(add(client, token, "A1", 1, location="LON1"))
        ok(checkout(client, token, "pickup_in_store", pickup="LON1"), 201)
    with container.read_uow() as uow:
        events = [
            cloud_event(
                id=m.id, source=m.source, type=m.type, subject=m.subject, time=m.time, data=m.data
            )
            for m in uow.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.type == OrderConfirmed.cloud_type())
                .order_by(OutboxMessage.position)
            )
        ]
    gone = {**events[0], "id": "gone-order-event", "data": {**events[0]["data"], "order": "NOPE"}}
    batch = container.handlers.resolve_batch("orders.notify_order_confirmed")
    assert batch is not None and len(events) == 2
    opened: list[int] = []

    def counting_uow() -> Any:
        opened.append(1)
        return container.uow()

    for _ in range(2):  # the second time, as the relay redelivers after a crash
        skips = batch([*events, gone], counting_uow)
        assert skips == {"gone-order-event": "order NOPE is gone"}
    assert opened == [1, 1]
    with container.read_uow() as uow:
        stored = uow.session.scalars(select(Notification).order_by(Notification.id)).all()
        queued = uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.type == NotificationQueued.cloud_type())
        )
    assert [(n.kind, n.source_event_id) for n in stored] == [
        ("order_confirmed", e["id"]) for e in events
    ]
    assert queued == 2


def test_a_batch_reads_its_orders_in_four_statements_as_one_by_one_would(container, client):
    make_orders_network(container)
    receive(container, "A1", "LON1", 3)
    numbers = []
    for method in ("pickup_in_store", "pickup_in_store"):
        token = new_cart(client)
        ok(add(client, token, "A1", 1, location="LON1"))
        numbers.append(ok(checkout(client, token, method, pickup="LON1"), 201)["number"])
    seen: list[str] = []

    def capture(_conn, _cursor, statement, _params, _context, _many) -> None:
        seen.append(statement)

    with container.read_uow() as uow:
        one_by_one = {number: orders.get_order(uow, number) for number in numbers}
        engine = uow.session.get_bind()
        event.listen(engine, "before_cursor_execute", capture)
        try:
            together = orders.get_orders(uow, [*numbers, "NOPE", numbers[0]])
        finally:
            event.remove(engine, "before_cursor_execute", capture)
    assert together == one_by_one
    assert len(seen) == 4  # orders, lines, fulfilments, logs

    seen.clear()
    with container.read_uow() as uow:
        event.listen(engine, "before_cursor_execute", capture)
        try:
            for_emails = orders.get_orders(uow, numbers, payment_log=False)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
    reads = [s for s in seen if s != "BEGIN"]
    assert len(reads) == 3  # the emails show no payment history: no log read
    assert {
        number: order.model_copy(update={"payment": one_by_one[number].payment})
        for number, order in for_emails.items()
    } == one_by_one
    assert {order.payment.refunded for order in for_emails.values()} == {None}
