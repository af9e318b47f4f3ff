"""Journeys end to end through the API: the classics installed and published, customers acting
through the shop's API (carts, checkout, views, alerts, a till sale), the journeys loop
(``marketing.tasks.tick``) and the outbox relay delivering to a real SMTP server and a webhook
receiver, with a fixed clock moved for the waits. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.marketing import service as marketing
from omniretail.marketing.journeys_classics import install_classic
from omniretail.marketing.tasks import tick
from omniretail.messaging.mail import SmtpConfig, SmtpMailer
from tests.customers.helpers import make_customer
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive

SECRET = "whsec_e2e_0123456789abcdef"
API = "/api/v1/marketing"


class Shop:
    def __init__(self, container: Container, client: TestClient, clock: Any, smtp: Any) -> None:
        self.container, self.client, self.clock, self.smtp = container, client, clock, smtp

    def install(self, code: str, **changes: Any) -> int:
        # No install route exists: the classic's messages/promotions/segment and the draft
        # are made by install_classic; the marketer publishes through the API.
        with self.container.uow() as uow:
            install_classic(uow, code, actor="marketer", site_url="http://shop.test")
        if changes:
            with self.container.read_uow() as uow:
                d = marketing.versions(uow, code)[-1].definition.model_dump(mode="json")
            ok(self.client.put(f"{API}/journeys/{code}/draft", json={**d, **changes}))
        return int(ok(self.client.post(f"{API}/journeys/{code}/publish"))["id"])

    def customer(self, name: str, email: str, *, consent: bool = True, **extra: Any) -> int:
        c = make_customer(
            self.container, name, email=email, verified=True, home_store="LON1", **extra
        )
        if consent:
            self.consent(c, "marketing", "email")
        return c

    def consent(self, c: int, purpose: str, channel: str, granted: bool = True) -> None:
        body = {"purpose": purpose, "channel": channel, "granted": granted}
        ok(self.client.post(f"/api/v1/customers/{c}/consents", json=body))

    def settle(self, *, browse: bool = False) -> None:
        """Relay and journeys loop until neither has anything left to do now."""
        for _ in range(20):
            relayed = self.container.relay().run_until_idle()
            done = tick(self.container, browse=browse)
            browse = False
            if not (done.entered or done.advanced or done.delivered or relayed.delivered):
                return
        raise AssertionError("the loop never settled")

    def wait(self, **delta: float) -> None:
        self.clock.advance(**delta)
        self.settle()

    def mails(self, to: str) -> list[EmailMessage]:
        # The order confirmations (checkout's contact email) are not the journeys' mail.
        return [
            m
            for _f, rcpt, m in self.smtp.received
            if to in rcpt and not str(m["Subject"]).startswith("Order ")
        ]

    def sends(self, **params: Any) -> list[dict[str, Any]]:
        return list(ok(self.client.get(f"{API}/sends", params=params)))

    def runs(self, code: str, customer: int) -> list[dict[str, Any]]:
        got = self.client.get(f"{API}/journeys/{code}/runs", params={"customer_id": customer})
        return list(ok(got))

    def cart(self, c: int, sku: str = "A1") -> str:
        token = new_cart(self.client, customer_id=c)
        ok(add(self.client, token, sku, 1))
        self.settle()
        return token


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
def shop(
    container: Container, client: TestClient, clock: Any, smtp_server: Any, receiver: Any
) -> Shop:
    make_orders_network(container)
    for sku in ("A1", "B2", "C3"):
        receive(container, sku, "DC1", 50)
    container.senders.mailer = SmtpMailer(
        SmtpConfig(host=smtp_server.host, port=smtp_server.port, sender="Shop <shop@example.com>")
    )
    ok(client.put(f"{API}/policy", json={"control_group_percent": 0, "quiet_hours": None}))
    hook = {"url": receiver.url, "event_types": ["omniretail.marketing.*"], "secret": SECRET}
    ok(client.post("/api/v1/webhooks", json=hook), 201)
    return Shop(container, client, clock, smtp_server)


def test_welcome_series_three_mails_and_the_webhook(shop: Shop, receiver: Any) -> None:
    shop.install("welcome-series")
    ada = shop.customer("Ada Lovelace", "ada@example.com")
    shop.settle()
    (hello,) = shop.mails("ada@example.com")
    assert "Welcome, Ada" in str(hello["Subject"])
    shop.wait(days=3, hours=2)
    assert len(shop.mails("ada@example.com")) == 2
    shop.wait(days=8)
    assert len(shop.mails("ada@example.com")) == 3  # no order yet: the nudge too
    (run,) = shop.runs("welcome-series", ada)
    assert run["state"] in ("completed", "exited")
    sent = shop.sends(customer_id=ada, status="sent")
    assert len(sent) == 3
    types = [r.headers.get("Ce-Type") or r.body.decode() for r in receiver.requests]
    assert sum("omniretail.marketing.message_sent" in t for t in types) == 3


def test_abandoned_cart_reminds_with_the_item_and_a_checkout_exits(shop: Shop) -> None:
    shop.install("abandoned-cart")
    ada = shop.customer("Ada Lovelace", "ada@example.com")
    bob = shop.customer("Bob Byte", "bob@example.com")
    shop.cart(ada)
    bobs = shop.cart(bob, "B2")
    shop.settle()
    assert shop.smtp.received == []
    shop.wait(minutes=20)
    ok(checkout(shop.client, bobs), 201)  # bought before the wait ended
    shop.wait(minutes=41)
    (reminder,) = shop.mails("ada@example.com")
    assert "Item A1" in body(reminder)
    assert shop.mails("bob@example.com") == []
    (bobs_run,) = shop.runs("abandoned-cart", bob)
    assert (bobs_run["state"], bobs_run["exit_reason"]) == ("exited", "orders.order_confirmed")
    assert shop.sends(customer_id=bob) == []


def test_browse_abandonment_from_product_views(shop: Shop) -> None:
    shop.install("browse-abandoned")
    ada = shop.customer("Ada Lovelace", "ada@example.com")
    shop.consent(ada, "analytics", "all")
    at = shop.clock.now().isoformat().replace("+00:00", "Z")
    event = {"type": "product_view", "occurred_at": at, "customer_id": ada, "data": {"sku": "B2"}}
    assert shop.client.post("/api/v1/events", json={"events": [event]}).status_code in (200, 202)
    shop.clock.advance(hours=2)
    shop.settle(browse=True)
    assert [r["state"] for r in shop.runs("browse-abandoned", ada)] == ["active"]
    shop.wait(hours=8)  # until 18:00 local
    (nudge,) = shop.mails("ada@example.com")
    assert "Item B2" in body(nudge)


def test_back_in_stock_at_the_store_and_not_when_gone_again(shop: Shop) -> None:
    shop.install("back-in-stock")
    ada = shop.customer("Ada Lovelace", "ada@example.com")
    bob = shop.customer("Bob Byte", "bob@example.com")
    for c in (ada, bob):
        ok(shop.client.post(f"/api/v1/customers/{c}/stock-alerts", json={"sku": "C3"}), 201)
    receive(shop.container, "C3", "LON1", 1)
    shop.container.relay().run_until_idle()  # the alerts fire, the runs enter
    marketing.advance_due(shop.container.uow)  # both sends queued ...
    sale = {"sku": "C3", "location": "LON1", "channel": "POS", "quantity": 1}
    ok(shop.client.post("/api/v1/inventory/sales", json=sale), 201)  # ... then it sells out
    shop.settle()
    assert shop.smtp.received == []
    reasons = {s["customer_id"]: (s["status"], s["reason"]) for s in shop.sends()}
    assert reasons == {ada: ("suppressed", "out_of_stock"), bob: ("suppressed", "out_of_stock")}

    carl = shop.customer("Carl Code", "carl@example.com")
    ok(shop.client.post(f"/api/v1/customers/{carl}/stock-alerts", json={"sku": "A1"}), 201)
    receive(shop.container, "A1", "LON1", 2)
    shop.settle()
    (mail,) = shop.mails("carl@example.com")
    assert "Item A1" in body(mail) and "London Oxford St" in body(mail)


def test_price_drop_on_a_carted_item(shop: Shop) -> None:
    shop.install("price-drop")
    ada = shop.customer("Ada Lovelace", "ada@example.com")
    shop.cart(ada)
    shop.settle()
    ok(shop.client.put("/api/v1/prices/A1/WEB", json={"price": "16.00"}))
    shop.settle()
    assert shop.smtp.received == []
    shop.wait(hours=1, minutes=1)
    (mail,) = shop.mails("ada@example.com")
    assert "down from £20.00 to £16.00" in body(mail)


def test_birthday_coupon_in_the_mail_at_nine_local(shop: Shop) -> None:
    shop.install("birthday-coupon")
    today = shop.clock.now().date()
    ada = shop.customer(
        "Ada Lovelace", "ada@example.com", birth_date=date(1990, today.month, today.day)
    )
    shop.clock.advance(hours=-2)  # 07:00 in London: not yet
    shop.settle()
    assert shop.smtp.received == []
    shop.wait(hours=2, minutes=1)
    (mail,) = shop.mails("ada@example.com")
    (run,) = shop.runs("birthday-coupon", ada)
    code = run["context"]["coupon_code"]
    assert code and code in body(mail)


def test_post_purchase_care_after_collection(shop: Shop) -> None:
    shop.install("post-purchase-collected")
    ada = shop.customer("Ada Lovelace", "ada@example.com")
    receive(shop.container, "A1", "LON1", 5)
    order = ok(checkout(shop.client, shop.cart(ada), "pickup_in_store", pickup="LON1"), 201)
    fid = order["fulfilments"][0]["id"]
    for action in ("accept", "pick", "pack", "ready", "collect"):
        data = {"override_reason": "customer known to staff"} if action == "collect" else {}
        got = shop.client.post(f"/api/v1/fulfilments/{fid}/{action}", json=data)
        assert got.status_code == 200, got.text
    shop.settle()
    assert [r["state"] for r in shop.runs("post-purchase-collected", ada)] == ["active"]
    shop.wait(days=2, hours=2)
    assert len(shop.mails("ada@example.com")) == 1


def test_consent_withdrawn_between_scheduling_and_sending(shop: Shop) -> None:
    shop.install("abandoned-cart")
    ada = shop.customer("Ada Lovelace", "ada@example.com")
    shop.cart(ada)
    shop.settle()
    shop.clock.advance(hours=1, minutes=1)
    marketing.advance_due(shop.container.uow)  # the reminder queued
    shop.consent(ada, "marketing", "email", granted=False)
    shop.settle()
    assert shop.mails("ada@example.com") == []
    (send,) = shop.sends(customer_id=ada)
    assert (send["status"], send["reason"]) == ("suppressed", "consent")


def test_quiet_hours_hold_then_send(shop: Shop) -> None:
    quiet = {"start": "21:00", "end": "08:00"}
    ok(shop.client.put(f"{API}/policy", json={"control_group_percent": 0, "quiet_hours": quiet}))
    shop.install("abandoned-cart")
    shop.clock.advance(hours=12, minutes=30)  # 21:30 London
    ada = shop.customer("Ada Lovelace", "ada@example.com")
    shop.cart(ada)
    shop.wait(hours=1, minutes=1)
    (held,) = shop.sends(customer_id=ada)
    assert (held["status"], held["reason"]) == ("held", "quiet_hours")
    assert shop.smtp.received == []
    shop.wait(hours=10)  # past 08:00
    assert len(shop.mails("ada@example.com")) == 1
    assert shop.sends(customer_id=ada)[0]["status"] == "sent"


def test_caps_drop_the_lower_priority_and_send_the_transactional(shop: Shop) -> None:
    policy = {
        "control_group_percent": 0,
        "quiet_hours": None,
        "caps": {"email": {"count": 1, "days": 1}},
    }
    ok(shop.client.put(f"{API}/policy", json=policy))
    shop.install("back-in-stock")  # priority 90
    shop.install("abandoned-cart")  # priority 60
    shop.install(
        "loyalty-tier-up",
        trigger={"kind": "event", "event": "orders.cart_line_added"},
        steps=[
            {
                "id": "receipt",
                "kind": "send",
                "message": "classic-tier-up",
                "channel": "email",
                "transactional": True,
            },
        ],
    )
    ada = shop.customer("Ada Lovelace", "ada@example.com")
    ok(shop.client.post(f"/api/v1/customers/{ada}/stock-alerts", json={"sku": "C3"}), 201)
    shop.cart(ada)
    shop.clock.advance(hours=1, minutes=1)
    receive(shop.container, "C3", "LON1", 3)
    shop.settle()
    got = {s["message_code"]: (s["status"], s["reason"]) for s in shop.sends(customer_id=ada)}
    assert got["classic-back-in-stock"] == ("sent", None)
    assert got["classic-cart-1"] == ("dropped", "cap")
    assert got["classic-tier-up"] == ("sent", None)
    assert len(shop.mails("ada@example.com")) == 2


def test_holdout_never_sent_still_converted_by_a_till_sale(shop: Shop) -> None:
    shop.install("abandoned-cart", holdout_percent=50)
    people = [shop.customer(f"Held Out{i}", f"h{i}@example.com") for i in range(6)]
    for c in people:
        shop.cart(c)
    held = [c for c in people if shop.runs("abandoned-cart", c)[0]["holdout"]]
    assert held and len(held) < len(people)  # the stable hash splits these six
    shop.wait(hours=1, minutes=1)
    ada = held[0]
    (send,) = shop.sends(customer_id=ada)
    assert (send["status"], send["reason"]) == ("suppressed", "holdout")
    for c in people:
        assert len(shop.mails(f"h{people.index(c)}@example.com")) == (c not in held)
    till_sale(shop, ada)
    (run,) = shop.runs("abandoned-cart", ada)
    assert run["holdout"] is True and run["converted_at"] is not None


def till_sale(shop: Shop, customer: int) -> str:
    # The customer's one cart is shared by every channel: the web line is in it too.
    receive(shop.container, "A1", "LON1", 3)
    receive(shop.container, "B2", "LON1", 3)
    token = new_cart(shop.client, "POS", customer_id=customer)
    ok(add(shop.client, token, "B2", 1))
    pay = {
        "channel": "POS",
        "fulfilment": {"method": "pickup_in_store", "pickup_location": "LON1"},
        "payment": {"provider_token": "tok_visa"},
    }
    order = ok(shop.client.post(f"/api/v1/carts/{token}/checkout", json=pay), 201)
    shop.settle()
    return str(order["number"])


def test_a_till_purchase_converts_a_web_journey(shop: Shop) -> None:
    shop.install("abandoned-cart")
    ada = shop.customer("Ada Lovelace", "ada@example.com")
    shop.cart(ada)
    shop.wait(hours=1, minutes=1)
    assert len(shop.mails("ada@example.com")) == 1
    number = till_sale(shop, ada)
    (run,) = shop.runs("abandoned-cart", ada)
    assert run["conversion_ref"] == number and run["converted_at"] is not None
    assert run["revenue"] is not None


def test_loyalty_tier_up_congratulates(shop: Shop) -> None:
    programme = ok(shop.client.get("/api/v1/loyalty/programme"))
    programme = programme["rules"]
    programme["tiers"] = [
        {**t, "threshold": {"Bronze": "0", "Silver": "30"}.get(t["name"], "5000")}
        for t in programme["tiers"]
    ]
    ok(shop.client.put("/api/v1/loyalty/programme", json=programme))
    shop.install("loyalty-tier-up")
    ada = shop.customer("Ada Lovelace", "ada@example.com")
    ok(shop.client.post(f"/api/v1/loyalty/customers/{ada}/enrol", json={}))
    ok(checkout(shop.client, shop.cart(ada, "B2")), 201)  # 35.50: Silver
    shop.settle()
    (mail,) = shop.mails("ada@example.com")
    assert "Silver" in str(mail["Subject"]) + body(mail)


def test_win_back_from_the_churn_score_with_a_coupon(shop: Shop) -> None:
    import polars as pl

    from omniretail.intelligence import service as intelligence

    shop.install("win-back")
    ada = shop.customer("Ada Lovelace", "ada@example.com")
    ok(checkout(shop.client, shop.cart(ada, "B2")), 201)
    shop.settle()
    shop.clock.advance(days=61)
    # The scores as the nightly model fit stores them (fitting one needs a history).
    score = {"customer_id": ada, "segment": "at_risk", "recency_days": 61, "frequency": 1}
    score |= {"monetary": 35.5, "r_score": 1, "f_score": 1, "m_score": 1}
    score |= {"expected_revenue": 1.0, "p_alive": 0.1}
    with shop.container.uow() as uow:
        as_of = shop.clock.now().date()
        intelligence.store_customer_scores(uow, pl.DataFrame([score]), as_of, 12)
    ok(shop.client.post(f"{API}/segments/refresh", json={}), 202)  # a durable job
    assert shop.container.job_runner().run_once()
    shop.settle()
    (run,) = shop.runs("win-back", ada)
    assert run["holdout"] is False  # the stable hash keeps this customer out of the 10%
    (mail,) = shop.mails("ada@example.com")
    assert run["context"]["coupon_code"] in body(mail)
