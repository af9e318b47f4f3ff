"""Loyalty and pricing together (issue 14): orders earn on what was paid after promotions and
coupons; a points promotion's points are an entry of their own and go back with returns in
proportion; the programme's birthday and welcome coupons are pricing coupons used at checkout
like any other, issued once per customer (per year) in the customer's time zone, even by two
sweeps at once; a loyalty tier's price list gives the same price in the basket, the till and
a quote. Runs on SQLite and PostgreSQL (the parallel sweep on PostgreSQL only)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text

from omniretail.loyalty import repository as loyalty_repo
from omniretail.loyalty import service
from omniretail.loyalty.schemas import OrderLineRef
from omniretail.notifications.models import Notification
from omniretail.notifications.service import notification_read
from tests.customers.helpers import make_customer
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive


def _programme(client, **rules):
    ok(client.put("/api/v1/loyalty/programme", json={"welcome_points": 0, **rules}))


def _promotion(client, code, name, effect, requires_coupon=False):
    body = {"name": name, "effect": effect, "requires_coupon": requires_coupon}
    ok(client.put(f"/api/v1/pricing/promotions/{code}", json=body))


def _ledger(client, customer):
    rows = ok(client.get(f"/api/v1/loyalty/customers/{customer}/ledger"))
    return [(e["kind"], e["pending_delta"], e["data"].get("reason")) for e in reversed(rows)]


def _relay(container, clock):
    clock.advance(seconds=1)
    container.relay().run_until_idle()


def test_an_order_earns_on_the_paid_amount_and_a_points_promotion_separately(
    container, client, clock
):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    receive(container, "B2", "DC1", 10)
    _programme(client)
    _promotion(client, "TENOFF", "Ten percent off", {"type": "percent_off", "percent": "10"})
    _promotion(client, "DOUBLE", "Double points weekend", {"type": "points", "points": 120})
    customer = make_customer(container, "Pat Paid", email="pat@example.com", verified=True)
    token = new_cart(client, customer_id=customer)
    ok(add(client, token, "A1", 2, location="DC1"))  # 2 x 20.00 = 40.00, paid 36.00
    ok(add(client, token, "B2", 1, location="DC1"))  # 35.50, paid 31.95
    order = ok(checkout(client, token), 201)
    assert order["total"] == "67.95"

    _relay(container, clock)

    # 1 point per pound paid, each line rounded down: 36 + 31 (not 40 + 35 before the discount)
    assert _ledger(client, customer) == [
        ("earn", 67, None),
        ("earn", 120, "Double points weekend: +120"),
    ]
    with container.read_uow() as uow:
        earn = loyalty_repo.get_entry(uow.session, f"earn:order:{order['number']}")
        assert earn is not None and earn.spend == Decimal("67.950")
        lines = {ln.sku: ln for ln in _order_lines(container, order["number"])}
        assert (lines["A1"].paid, lines["B2"].paid) == (Decimal("36.00"), Decimal("31.95"))

    # One of the two A1 returned: half of its 36 points and half of its share of the 120
    # (120 x 36.00 / 67.95 = 63.58 -> 64 by largest remainder; B2 keeps 56)
    with container.uow() as uow:
        a1 = lines["A1"].line_no
        service.claw_back_lines(
            uow,
            order["number"],
            [OrderLineRef(line_no=a1, sku="A1", quantity=1)],
            key="return:R1",
            actor="test",
        )
    assert _ledger(client, customer)[2:] == [
        ("clawback", -18, None),
        ("clawback", -32, "Double points weekend: +120 returned"),
    ]
    account = ok(client.get(f"/api/v1/loyalty/customers/{customer}"))
    assert account["pending"] == 67 + 120 - 18 - 32


def _order_lines(container, number):
    from omniretail.orders import service as orders

    with container.read_uow() as uow:
        return orders.get_order(uow, number).lines


def _birthday_rules(client, zone="Asia/Tokyo"):
    _promotion(
        client,
        "BIRTHDAY10",
        "10 % off for your birthday",
        {"type": "percent_off", "percent": "10"},
        requires_coupon=True,
    )
    _programme(
        client,
        timezone=zone,
        birthday_coupon={"promotion": "BIRTHDAY10", "valid_days": 30},
    )


def test_a_birthday_coupon_is_issued_at_local_midnight_once_and_used_at_checkout(
    container, client, clock
):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    _birthday_rules(client)
    clock.current = datetime(2026, 9, 1, tzinfo=UTC)  # a member, her birthday on file since
    # No home store: the programme's zone, Asia/Tokyo (UTC+9)
    kumiko = make_customer(
        container, "Kumiko", email="kumiko@example.com", verified=True, birth_date="1990-11-03"
    )

    with container.uow() as uow:  # 23:30 on 2 November in Tokyo: not yet
        assert (
            service.award_birthday_coupons(
                uow, actor="t", at=datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
            )
            == 0
        )
    clock.current = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)  # 00:30 on 3 November in Tokyo
    with container.uow() as uow:
        assert service.award_birthday_coupons(uow, actor="t") == 1
    with container.uow() as uow:  # a second sweep, the same day or later that year
        assert service.award_birthday_coupons(uow, actor="t") == 0
        assert (
            service.award_birthday_coupons(
                uow, actor="t", at=datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
            )
            == 0
        )
        [coupon] = service.list_reward_coupons(uow, kumiko)
    assert (coupon.kind, coupon.period, coupon.promotion, coupon.used) == (
        "birthday",
        "2026",
        "BIRTHDAY10",
        False,
    )
    assert coupon.code.startswith("BDAY-")
    assert coupon.valid_until == datetime(2026, 12, 2, 15, 30, tzinfo=UTC)
    pricing_coupon = ok(client.get(f"/api/v1/pricing/coupons/{coupon.code}"))
    assert (pricing_coupon["max_uses"], pricing_coupon["per_customer"]) == (1, 1)

    # The customer is emailed the code through the outbox.
    _relay(container, clock)
    with container.read_uow() as uow:
        [stored] = uow.session.query(Notification).filter_by(kind="loyalty_coupon").all()
        sent = notification_read(uow.vault, stored)
    assert sent.subject == f"Happy birthday: your code {coupon.code}"
    assert sent.recipient == "kumiko@example.com" and coupon.code in (sent.body or "")

    # Used at the web checkout like any coupon: 20.00 - 10 % = 18.00, once.
    token = new_cart(client, customer_id=kumiko)
    ok(add(client, token, "A1", 1, location="DC1"))
    cart = ok(client.post(f"/api/v1/carts/{token}/coupons", json={"code": coupon.code}))
    assert cart["total"] == "18.00"
    assert ok(checkout(client, token), 201)["total"] == "18.00"
    with container.read_uow() as uow:
        assert service.list_reward_coupons(uow, kumiko)[0].used is True
    again = new_cart(client, customer_id=kumiko)
    ok(add(client, again, "A1", 1, location="DC1"))
    refused = client.post(f"/api/v1/carts/{again}/coupons", json={"code": coupon.code})
    assert refused.status_code == 409


def test_a_birthday_follows_the_customers_zone_not_utc(container, client, clock):
    make_orders_network(container)
    _birthday_rules(client)
    make_customer(container, "Late", birth_date="1990-11-03")
    with container.uow() as uow:
        # 23:00 UTC on 3 November is already 4 November in Tokyo: the day has passed there
        assert (
            service.award_birthday_coupons(
                uow, actor="t", at=datetime(2026, 11, 3, 23, 0, tzinfo=UTC)
            )
            == 0
        )


def test_the_welcome_coupon_is_given_once_on_joining(container, client):
    make_orders_network(container)
    _promotion(
        client,
        "WELCOME5",
        "5 % off your first order",
        {"type": "percent_off", "percent": "5"},
        requires_coupon=True,
    )
    _programme(client, welcome_coupon={"promotion": "WELCOME5", "valid_days": 60})
    customer = make_customer(container, "New Joiner")
    with container.uow() as uow:
        service.enrol(uow, customer, actor="t")
        service.enrol(uow, customer, actor="t")
        coupons = service.list_reward_coupons(uow, customer)
    assert [(c.kind, c.period, c.promotion) for c in coupons] == [("welcome", "once", "WELCOME5")]


def test_rules_naming_an_unknown_promotion_are_refused(container, client):
    r = client.put("/api/v1/loyalty/programme", json={"birthday_coupon": {"promotion": "NOPE"}})
    assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (
        422,
        "unknown-coupon-promotion",
    )
    assert ok(client.get("/api/v1/loyalty/programme"))["version"] == 0


def test_a_gold_price_list_prices_the_basket_the_till_and_a_quote(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    receive(container, "A1", "LON1", 10)
    ok(
        client.put(
            "/api/v1/pricing/price-lists/GOLD",
            json={"name": "Gold members", "currency": "GBP", "customer_tier": "Gold"},
        )
    )
    ok(client.put("/api/v1/pricing/price-lists/GOLD/entries/A1", json={"price": "15.00"}))
    gold = make_customer(container, "Goldie")
    bronze = make_customer(container, "Bronwyn")
    with container.uow() as uow:
        service.enrol(uow, gold, actor="t")
        service.enrol(uow, bronze, actor="t")
        loyalty_repo.set_tier(uow.session, gold, "Gold", uow.now)

    def basket(customer, channel, location):
        token = new_cart(client, channel=channel, customer_id=customer)
        return ok(add(client, token, "A1", 1, location=location))["lines"][0]["unit_price"]

    def quote(customer):
        body = {"channel": "WEB", "customer_id": customer, "lines": [{"sku": "A1", "quantity": 1}]}
        return ok(client.post("/api/v1/pricing/quote", json=body))["lines"][0]["unit_price"]

    assert basket(gold, "WEB", "DC1") == "15.00"
    assert basket(gold, "POS", "LON1") == "15.00"
    assert quote(gold) == "15.00"
    assert (basket(bronze, "WEB", "DC1"), quote(bronze)) == ("20.00", "20.00")


@pytest.mark.parametrize("backend", ["postgres"])
def test_two_sweeps_at_once_issue_one_coupon(container, client, clock):
    make_orders_network(container)
    _birthday_rules(client, zone="Europe/London")
    clock.current = datetime(2026, 9, 1, tzinfo=UTC)  # birthday on file since September
    customer = make_customer(container, "Twice", birth_date="1990-11-03")
    clock.current = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    barrier = threading.Barrier(2)
    issued: list[int] = []
    failures: list[BaseException] = []

    def sweep() -> None:
        try:
            with container.uow() as uow:
                uow.session.execute(text("SELECT 1"))
                barrier.wait(timeout=10)
                issued.append(service.award_birthday_coupons(uow, actor="t"))
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert failures == []
    assert sorted(issued) == [0, 1]
    with container.read_uow() as uow:
        assert len(service.list_reward_coupons(uow, customer)) == 1
        coupons = uow.session.execute(
            text("SELECT count(*) FROM coupons WHERE promotion_code = 'BIRTHDAY10'")
        ).scalar()
    assert coupons == 1
