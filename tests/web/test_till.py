"""The till (a walk-in sale), the store's channel on orders placed for a customer, the pickup
code they are sent, returns with a reason and a confirmation, and points redeemed only after
the associate saw whose account it is."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from omniretail.inventory import availability
from omniretail.inventory import service as inventory
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.models import Redemption
from omniretail.loyalty.schemas import AdjustmentCreate
from omniretail.messaging.mail import RecordingMailer
from omniretail.notifications import service as notifications
from omniretail.orders import service as lookup
from omniretail.orders.service import TestPaymentProvider
from tests.drain import drain
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.seed import ADMIN, ASSOCIATE, CUSTOMER_EMAIL, PASSWORD, Seeded


@pytest.fixture
def mailer(container: Container) -> RecordingMailer:
    recording = RecordingMailer()
    container.senders.mailer = recording
    return recording


def _scan(web: TestClient, url: str, sku: str) -> str:
    """Scans on the till page at ``url``; returns the page the till went on to."""
    form = re.search(
        r'<form method="post" action="([^"]+)"[^>]*aria-label="Scan"', web.get(url).text
    )
    assert form, "no scan form"
    response = post(web, url, form.group(1), {"sku": sku, "customer": _customer(url)})
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    return str(response.headers["location"])  # type: ignore[attr-defined]


def _customer(url: str) -> str:
    return parse_qs(urlparse(url).query).get("customer", [""])[0]


def _token(url: str) -> str:
    return urlparse(url).path.rsplit("/", 1)[-1]


def _ring_up(web: TestClient, skus: list[str], *, customer: bool) -> str:
    url = "/store/till"
    for sku in skus:
        url = _scan(web, url, sku)
    if customer:
        response = post(
            web,
            url,
            f"/store/till/{_token(url)}/customer",
            {"kind": "loyalty_card", "value": "nope"},
        )
        assert response.status_code == 404  # type: ignore[attr-defined]
        # The form's words for the kind, not the identity kind's code (loyalty_card).
        assert "no customer with this loyalty card" in response.text  # type: ignore[attr-defined]
        response = post(
            web,
            url,
            f"/store/till/{_token(url)}/customer",
            {"kind": "email", "value": CUSTOMER_EMAIL},
        )
        assert response.status_code == 303  # type: ignore[attr-defined]
        url = str(response.headers["location"])  # type: ignore[attr-defined]
    return url


def _pay(web: TestClient, url: str, **fields: str) -> object:
    data = {"customer": _customer(url), **fields}
    return post(web, url, f"/store/till/{_token(url)}/pay", data)


def _on_hand(container: Container, sku: str, store: str) -> int:
    with container.read_uow() as uow:
        return inventory.get_stock_level(uow, sku, store).on_hand


def _receipts(container: Container) -> list[notifications.NotificationRead]:
    with container.read_uow() as uow:
        return [n for n in notifications.list_notifications(uow) if n.kind == "receipt"]


def _number(response: object) -> str:
    location = str(response.headers["location"])  # type: ignore[attr-defined]
    assert location.startswith("/store/till/receipts/"), location
    return location.split("?")[0].rsplit("/", 1)[-1]


def _last_move(container: Container) -> int:
    with container.read_uow() as uow:
        return max((m.id for m in inventory.list_movements(uow, limit=1)), default=0)


def _assert_sold_at_lon1(
    container: Container, number: str, sku: str, quantity: int, since: int
) -> None:
    """The order is on the till channel, handed over, and the ledger at LON1 shows the
    units reserved, allocated and gone from stock (nothing elsewhere moved)."""
    with container.read_uow() as uow:
        order = lookup.get_order(uow, number)
        moves = [m for m in inventory.list_movements(uow, limit=50) if m.id > since]
        assert availability.verify(uow).ok
    assert {m.location for m in moves} == {"LON1"}
    assert next(m.kind for m in moves if m.sku == sku) == "fulfil"  # newest first
    assert sum(m.on_hand_delta for m in moves if m.sku == sku) == -quantity
    assert order.channel == "POS"
    assert order.status == "completed"
    assert [(f.method.value, f.location, f.status) for f in order.fulfilments] == [
        ("pickup_in_store", "LON1", "collected")
    ]


def test_a_cash_sale_with_a_loyalty_customer(
    web: TestClient, container: Container, seeded: Seeded, mailer: RecordingMailer
) -> None:
    sign_in(web, ASSOCIATE)
    before = _on_hand(container, "A1", "LON1")
    since = _last_move(container)
    url = _ring_up(web, ["A1", "A1", "B2"], customer=True)
    page = web.get(url).text
    assert "Ada Lovelace" in page and "£75.50" in page  # 2 x 20.00 + 35.50
    assert "Coupon code" in page

    short = _pay(web, url, method="cash", tendered="70", receipt_email=CUSTOMER_EMAIL)
    assert short.status_code == 422  # type: ignore[attr-defined]
    assert "less than the £75.50 due" in short.text  # type: ignore[attr-defined]
    response = _pay(web, url, method="cash", tendered="80.00", receipt_email=CUSTOMER_EMAIL)

    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    assert "%C2%A34.50%20change" in response.headers["location"]  # type: ignore[attr-defined]
    number = _number(response)
    _assert_sold_at_lon1(container, number, "A1", 2, since)
    assert _on_hand(container, "A1", "LON1") == before - 2
    with container.read_uow() as uow:
        order = lookup.get_order(uow, number)
    assert order.customer_id == seeded.customer_id
    assert order.payment.provider == "cash"
    receipt = web.get(f"/store/till/receipts/{number}").text
    assert "Cash" in receipt and "£80.00" in receipt and "£4.50" in receipt

    drain(container)
    with container.read_uow() as uow:
        account = loyalty.account_status(uow, seeded.customer_id)
    assert account.pending > 0  # earned on the sale, pending until the return window closes
    [sent] = [e for e in mailer.sent if "receipt" in e.subject.lower()]
    assert sent.to == CUSTOMER_EMAIL and number in sent.subject and "£75.50" in sent.text
    assert [e.subject for e in mailer.sent if number in e.subject] == [sent.subject]

    # The customer's own page of the sale: bought in store, not a pickup's steps and dates.
    web.cookies.clear()
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    mine = web.get(f"/account/orders/{number}")
    assert mine.status_code == 200, mine.text
    assert "Bought in store" in mine.text and "paid at the till" in mine.text
    for pickup_words in ("Being picked", "Ready to collect", "expected", "Pickup in store"):
        assert pickup_words not in mine.text, pickup_words


def test_a_card_sale_goes_through_the_payment_port_and_captures(
    web: TestClient, container: Container, payments: TestPaymentProvider, mailer: RecordingMailer
) -> None:
    sign_in(web, ASSOCIATE)
    since = _last_move(container)
    url = _ring_up(web, ["B2"], customer=False)
    declined = _pay(web, url, method="card", provider_token="tok_decline")
    assert declined.status_code == 422  # type: ignore[attr-defined]
    assert "declined" in declined.text  # type: ignore[attr-defined]

    response = _pay(
        web, url, method="card", provider_token="tok_till", receipt_email="walk@in.example"
    )

    number = _number(response)
    _assert_sold_at_lon1(container, number, "B2", 1, since)
    drain(container)
    [card] = payments.by_token("tok_till")
    assert (card.amount, card.captured) == (Decimal("35.50"), Decimal("35.50"))
    assert [r.recipient for r in _receipts(container)] == ["walk@in.example"]
    assert [e.to for e in mailer.sent if number in e.subject] == ["walk@in.example"]


def _code_sent(container: Container, mailer: RecordingMailer) -> str:
    """The code the customer received (what they read out at the till)."""
    container.relay().run_until_idle()
    [mail, *_] = [m for m in reversed(mailer.sent) if "loyalty points" in m.subject]
    found = re.search(r"\b(\d{6})\b", mail.text)
    assert found
    return found.group(1)


def test_points_are_spent_only_after_the_associate_saw_whose_account_it_is(
    web: TestClient,
    container: Container,
    seeded: Seeded,
    payments: TestPaymentProvider,
    mailer: RecordingMailer,
) -> None:
    with container.uow() as uow:
        loyalty.adjust_points(
            uow, seeded.customer_id, AdjustmentCreate(points=1_000, reason="goodwill"), actor="test"
        )
        before = loyalty.account_status(uow, seeded.customer_id).available
    sign_in(web, ASSOCIATE)
    url = _ring_up(web, ["A1"], customer=True)

    asked = _pay(web, url, method="card", provider_token="tok_points", points="500")

    assert asked.status_code == 200  # type: ignore[attr-defined]
    assert "Redeem 500 points (£5.00) from Ada Lovelace's account?" in asked.text  # type: ignore[attr-defined]
    assert f"Their balance: {before:,} points" in asked.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert loyalty.account_status(uow, seeded.customer_id).available == before
        assert uow.session.scalars(select(Redemption)).all() == []
    sale = {"method": "card", "provider_token": "tok_points", "points": "500", "confirm": "yes"}
    # without the customer's code: refused, nothing sold, nothing spent
    refused = _pay(web, url, **sale)
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "code sent to the customer" in refused.text  # type: ignore[attr-defined]
    sent = _pay(web, url, **sale, send_code="1")
    assert sent.status_code == 200  # type: ignore[attr-defined]
    assert "Code sent by email to a***@example.com" in sent.text  # type: ignore[attr-defined]
    code = _code_sent(container, mailer)
    wrong = _pay(web, url, **sale, presence_code="000000" if code != "000000" else "111111")
    assert wrong.status_code == 403  # type: ignore[attr-defined]
    assert "2 tries left" in wrong.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert loyalty.account_status(uow, seeded.customer_id).available == before
        assert uow.session.scalars(select(Redemption)).all() == []
        assert lookup.list_orders(uow, seeded.customer_id, limit=50)[0].channel != "POS"
    response = _pay(web, url, **sale, presence_code=code)

    number = _number(response)
    with container.read_uow() as uow:
        assert loyalty.account_status(uow, seeded.customer_id).available == before - 500
        [redemption] = uow.session.scalars(select(Redemption)).all()
        order = lookup.get_order(uow, number)
    assert (redemption.reference, redemption.points) == (number, 500)
    drain(container)
    [card] = payments.by_token("tok_points")
    value = redemption.value
    assert (card.captured, card.refunded) == (Decimal("20.00"), value)
    assert order.total == Decimal("20.00")


def test_a_declined_card_leaves_the_customers_code_working_for_another_card(
    web: TestClient,
    container: Container,
    seeded: Seeded,
    payments: TestPaymentProvider,
    mailer: RecordingMailer,
) -> None:
    with container.uow() as uow:
        loyalty.adjust_points(
            uow, seeded.customer_id, AdjustmentCreate(points=1_000, reason="goodwill"), actor="test"
        )
        before = loyalty.account_status(uow, seeded.customer_id).available
    sign_in(web, ASSOCIATE)
    url = _ring_up(web, ["A1"], customer=True)
    sale = {"method": "card", "points": "500", "confirm": "yes"}
    assert _pay(web, url, **sale, send_code="1").status_code == 200  # type: ignore[attr-defined]
    code = _code_sent(container, mailer)

    declined = _pay(web, url, **sale, provider_token="tok_decline", presence_code=code)

    assert declined.status_code == 422  # type: ignore[attr-defined]
    assert "declined" in declined.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert loyalty.account_status(uow, seeded.customer_id).available == before
        assert uow.session.scalars(select(Redemption)).all() == []
    paid = _pay(web, url, **sale, provider_token="tok_points", presence_code=code)
    number = _number(paid)
    with container.read_uow() as uow:
        assert loyalty.account_status(uow, seeded.customer_id).available == before - 500
        [redemption] = uow.session.scalars(select(Redemption)).all()
    assert (redemption.reference, redemption.points) == (number, 500)
    # used up by the paid sale: it proves nothing again
    next_sale = _ring_up(web, ["A1"], customer=True)
    again = _pay(web, next_sale, **sale, provider_token="tok_points", presence_code=code)
    assert again.status_code == 403  # type: ignore[attr-defined]


def test_points_refused_by_the_ledger_leave_nothing_behind(
    web: TestClient, container: Container, seeded: Seeded, mailer: RecordingMailer
) -> None:
    sign_in(web, ASSOCIATE)
    url = _ring_up(web, ["A1"], customer=True)
    before = _on_hand(container, "A1", "LON1")
    with container.read_uow() as uow:
        available = loyalty.account_status(uow, seeded.customer_id).available
        orders_before = len(lookup.list_orders(uow, seeded.customer_id, limit=50))

    sale = {"method": "cash", "tendered": "20", "points": str(available + 1), "confirm": "yes"}
    assert _pay(web, url, **sale, send_code="1").status_code == 200  # type: ignore[attr-defined]
    response = _pay(web, url, **sale, presence_code=_code_sent(container, mailer))

    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "points available" in response.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert len(lookup.list_orders(uow, seeded.customer_id, limit=50)) == orders_before
        assert loyalty.account_status(uow, seeded.customer_id).available == available
    assert _on_hand(container, "A1", "LON1") == before


def test_an_associate_sells_only_at_their_own_store(web: TestClient, container: Container) -> None:
    with container.uow() as uow:
        auth.create_principal(
            uow,
            PrincipalCreate(
                username="store-lon2",
                role=Role.STORE_ASSOCIATE,
                password=PASSWORD,
                store_code="LON2",
            ),
        )
    sign_in(web, ASSOCIATE)
    url = _ring_up(web, ["A1"], customer=False)
    web.post("/signout", data={"csrf_token": csrf_of(web.get(url).text)})
    sign_in(web, "store-lon2")
    lon1, lon2 = _on_hand(container, "A1", "LON1"), _on_hand(container, "A1", "LON2")

    assert web.get(url).status_code == 409
    token = csrf_of(web.get("/store/till").text)
    paid = web.post(
        f"/store/till/{_token(url)}/pay",
        data={"method": "cash", "tendered": "20", "csrf_token": token},
    )
    assert paid.status_code == 409
    assert "not LON2&#39;s: it holds stock at LON1" in paid.text
    # The store is the sign-in's: a location slipped into the form changes nothing.
    sold_out: object = web.post(
        "/store/till", data={"sku": "C3", "location": "DC1", "csrf_token": token}
    )
    assert sold_out.status_code == 422  # type: ignore[attr-defined]
    assert "LON2" in sold_out.text  # type: ignore[attr-defined]

    with container.read_uow() as uow:
        assert lookup.orders_for_location(uow, "LON2", limit=10) == []
        assert not [o for o in lookup.recent_orders(uow, limit=20) if o.channel == "POS"]
    assert (_on_hand(container, "A1", "LON1"), _on_hand(container, "A1", "LON2")) == (lon1, lon2)


def test_an_administrator_picks_a_store_before_selling(web: TestClient) -> None:
    sign_in(web, ADMIN)
    assert web.get("/store/till").status_code == 409
    response = post(web, "/store/choose", "/store/choose", {"store": "MAN1"})
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert "Till · Manchester" in " ".join(web.get("/store/till").text.split()).replace(
        '<span class="muted">· ', "· "
    )


def test_the_loyalty_page_names_the_account_before_redeeming(
    web: TestClient, container: Container, seeded: Seeded, mailer: RecordingMailer
) -> None:
    with container.uow() as uow:
        loyalty.adjust_points(
            uow, seeded.customer_id, AdjustmentCreate(points=300, reason="goodwill"), actor="test"
        )
        before = loyalty.account_status(uow, seeded.customer_id).available
    sign_in(web, ASSOCIATE)
    page = f"/store/loyalty/{seeded.customer_id}"
    assert "Ada Lovelace" in web.get(page).text

    too_many: object = post(web, page, f"{page}/redeem", {"points": str(before + 1)})
    asked: object = post(web, page, f"{page}/redeem", {"points": "200"})

    assert too_many.status_code == 422  # type: ignore[attr-defined]
    assert asked.status_code == 200  # type: ignore[attr-defined]
    assert "Redeem 200 points (£2.00) from Ada Lovelace's account?" in asked.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert loyalty.account_status(uow, seeded.customer_id).available == before
    confirmed = {"points": "200", "confirm": "yes"}
    refused: object = post(web, page, f"{page}/redeem", confirmed)
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "code sent to the customer" in refused.text  # type: ignore[attr-defined]
    sent: object = post(web, page, f"{page}/redeem", {**confirmed, "send_code": "1"})
    assert "Code sent by email to a***@example.com" in sent.text  # type: ignore[attr-defined]
    code = _code_sent(container, mailer)
    done: object = post(web, page, f"{page}/redeem", {**confirmed, "presence_code": code})
    assert done.status_code == 303  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert loyalty.account_status(uow, seeded.customer_id).available == before - 200


def test_a_coupon_at_the_till_prices_the_sale_and_names_the_promotion(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    from tests.web.test_shop_coupons import _ten_percent_coupon

    _ten_percent_coupon(web, container)
    sign_in(web, ASSOCIATE)
    url = _ring_up(web, ["A1"], customer=False)
    action = f"/store/till/{_token(url)}/coupons"
    wrong = post(web, url, action, {"code": "NOPE1234", "customer": ""})
    assert wrong.status_code == 404  # type: ignore[attr-defined]
    applied = post(web, url, action, {"code": "save10", "customer": ""})
    assert applied.status_code == 303, applied.text  # type: ignore[attr-defined]
    sale = web.get(url).text
    assert "Ten percent off" in sale
    assert re.search(r"data-total>£18\.00<", sale), sale
    removed = post(web, url, action, {"code": "SAVE10", "remove": "1", "customer": ""})
    assert removed.status_code == 303  # type: ignore[attr-defined]
    assert re.search(r"data-total>£20\.00<", web.get(url).text)


def test_the_receipt_shows_what_each_line_cost_after_a_coupon(
    web: TestClient, container: Container, seeded: Seeded, mailer: RecordingMailer
) -> None:
    """The receipt's lines, printed and emailed, add up to its total (the coupon's 10 % is
    off the line)."""
    from tests.web.test_shop_coupons import _ten_percent_coupon

    _ten_percent_coupon(web, container)
    sign_in(web, ASSOCIATE)
    url = _ring_up(web, ["A1"], customer=False)
    applied = post(
        web, url, f"/store/till/{_token(url)}/coupons", {"code": "SAVE10", "customer": ""}
    )
    assert applied.status_code == 303  # type: ignore[attr-defined]
    number = _number(_pay(web, url, method="cash", tendered="18.00", receipt_email="r@in.example"))

    receipt = web.get(f"/store/till/receipts/{number}").text

    assert re.search(r"<td class=\"n\">1</td><td class=\"n\">£18\.00</td>", receipt), receipt
    assert "£20.00" not in receipt
    drain(container)
    [sent] = [e for e in mailer.sent if number in e.subject]
    assert "1 x Enamel mug  £18.00" in sent.text, sent.text


def test_a_marketing_receipt_line_is_printed_on_the_customers_next_receipt_once(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    from omniretail.marketing import service as marketing
    from omniretail.marketing.schemas import MessageCreate, SendPolicy
    from omniretail.marketing.sending import SendRequest

    with container.uow() as uow:
        marketing.create_message(
            uow,
            MessageCreate(code="thanks", name="Thanks", subject="Double points in May", body="x"),
        )
        marketing.put_policy(uow, SendPolicy(control_group_percent=0, quiet_hours=None))
        marketing.queue_sends(
            uow,
            [
                SendRequest(
                    key="r1", customer_id=seeded.customer_id, message="thanks", channel="receipt"
                ),
                SendRequest(
                    key="s1", customer_id=seeded.customer_id, message="thanks", channel="store"
                ),
            ],
        )
    marketing.deliver_due(container.uow)
    sign_in(web, ASSOCIATE)

    first = _number(_pay(web, _ring_up(web, ["A1"], customer=True), method="cash", tendered="50"))
    second = _number(_pay(web, _ring_up(web, ["A1"], customer=True), method="cash", tendered="50"))

    assert "Double points in May" in web.get(f"/store/till/receipts/{first}").text
    assert "Double points in May" not in web.get(f"/store/till/receipts/{second}").text
    # the associate sees the in-store card on the customer page
    assert "Double points in May" in web.get(f"/store/loyalty/{seeded.customer_id}").text


def test_odd_cash_and_points_at_the_till_are_a_422_that_sells_nothing(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    sign_in(web, ASSOCIATE)
    url = _ring_up(web, ["A1"], customer=True)
    before = _on_hand(container, "A1", "LON1")
    # "NaN" is a Decimal that cannot be compared; "²" a digit to str.isdigit, not to int
    for fields in ({"tendered": "NaN"}, {"tendered": "20", "points": "²", "confirm": "yes"}):
        response = _pay(web, url, method="cash", **fields)
        assert response.status_code == 422, fields  # type: ignore[attr-defined]
    assert _on_hand(container, "A1", "LON1") == before


def test_the_store_console_keeps_an_associates_hourly_limit_of_codes(
    web: TestClient, container: Container, seeded: Seeded, mailer: RecordingMailer
) -> None:
    """The console's "Send code to customer" is limited per associate as the API is: the
    refusal is shown (429), counted and audited."""
    from omniretail.customers.models import CodeSendQuota

    container.settings = container.settings.model_copy(
        update={"presence_code_sends_per_principal_hour": 1}
    )
    with container.uow() as uow:
        loyalty.adjust_points(
            uow, seeded.customer_id, AdjustmentCreate(points=300, reason="goodwill"), actor="test"
        )
    sign_in(web, ASSOCIATE)
    page = f"/store/loyalty/{seeded.customer_id}"
    ask = {"points": "200", "confirm": "yes", "send_code": "1"}

    sent: Any = post(web, page, f"{page}/redeem", {**ask, "reference": "SALE-1"})
    refused: Any = post(web, page, f"{page}/redeem", {**ask, "reference": "SALE-2"})

    assert "Code sent by email" in sent.text
    assert refused.status_code == 429 and "wait before sending another" in refused.text
    with container.read_uow() as uow:
        quota = uow.session.scalars(select(CodeSendQuota)).one()
        audited = [
            a
            for a in auth.list_audit(uow, area="loyalty", limit=10)
            if a.action == "POST /loyalty/customers/{customer_id}/presence-codes"
        ]
    assert (quota.sent, quota.refused) == (1, 1)
    assert len(audited) == 2


def test_the_audit_log_keeps_no_till_cart_token(
    web: TestClient, container: Container, seeded: Seeded, mailer: RecordingMailer
) -> None:
    """The till's paths hold its cart's token; the audit rows of its changes do not."""
    sign_in(web, ASSOCIATE)
    url = _ring_up(web, ["A1"], customer=False)
    token = _token(url)
    response = _pay(web, url, method="cash", tendered="50.00", receipt_email="")
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    with container.engine.connect() as conn:
        subjects = conn.execute(text("SELECT subject FROM audit_log")).scalars().all()
    assert [s for s in subjects if s and "/store/till/~" in s]
    assert not [s for s in subjects if s and token in s]
