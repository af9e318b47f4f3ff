"""The assistant over a seeded database: each intent answered from live data, order details
only after verification (signed-in owner, or order number with its email), handover below
the threshold, the public API (problem+json, bounds, the per-address limit), the email
auto-reply, and an operator's intent taking effect."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Match

from omniretail.bootstrap import Container
from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import ProductCreate, SkuCreate
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import AdjustmentCreate
from omniretail.support.assistant import (
    AssistantConfig,
    AssistantContext,
    answer,
    email_auto_reply,
)
from tests.orders.network import (
    add,
    advance,
    checkout,
    make_customer,
    make_orders_network,
    new_cart,
    ok,
    receive,
    waiting_code,
)

EMAIL = "ada@example.com"  # the contact email tests.orders.network.checkout gives


def seed_items(container: Container) -> None:
    with container.uow() as uow:
        catalog.create_product(
            uow,
            ProductCreate(
                code="P2",
                name="Home",
                skus=[
                    SkuCreate(code="85123A", name="WHITE HANGING HEART T-LIGHT HOLDER"),
                    SkuCreate(code="20725", name="LUNCH BAG RED RETROSPOT"),
                    SkuCreate(code="22423", name="REGENCY CAKESTAND 3 TIER"),
                ],
            ),
        )
    receive(container, "20725", "LON2", 7)
    receive(container, "85123A", "MAN1", 3)


@pytest.fixture
def shop(container: Container, client: Any) -> dict[str, Any]:
    """A network, three named items in stock, one customer with a click & collect order
    made ready at Camden (LON2) and a home delivery order shipped with a carrier."""
    make_orders_network(container)
    seed_items(container)
    receive(container, "A1", "LON2", 5)
    receive(container, "B2", "DC1", 5)
    customer = make_customer(container)
    token = new_cart(client, customer_id=customer)
    ok(add(client, token, "A1", 1, location="LON2"))
    pickup = ok(checkout(client, token, "pickup_in_store", pickup="LON2"), 201)
    advance(client, pickup["fulfilments"][0]["id"], "accept", "pick", "pack", "ready")
    token = new_cart(client, customer_id=customer)
    ok(add(client, token, "B2", 1))
    home = ok(checkout(client, token, "ship_to_home"), 201)
    fid = home["fulfilments"][0]["id"]
    advance(client, fid, "accept", "pick", "pack")
    ok(
        client.post(
            f"/api/v1/fulfilments/{fid}/ship", json={"carrier": "DPD", "tracking_number": "DPD123"}
        )
    )
    return {"customer": customer, "pickup": pickup["number"], "home": home["number"]}


def ask(container: Container, text: str, ctx: AssistantContext | None = None, **kw: Any) -> Any:
    return answer(container, text, ctx or AssistantContext(), **kw)


def pickup_code_of(container: Container, number: str) -> str:
    return waiting_code(container, {"number": number})


def test_where_is_my_order_needs_verification_then_answers_from_tracking(container, client, shop):
    home = shop["home"]
    first = ask(container, "where is my parcel?")
    assert (first.intent, first.needs_verification, first.handover) == (
        "where_is_my_order",
        True,
        False,
    )
    assert home not in first.text and "DPD" not in first.text
    assert first.context.pending_intent == "where_is_my_order"

    # The number with a wrong email reveals nothing.
    wrong = ask(container, f"it's {home}, mallory@example.com", first.context)
    assert wrong.needs_verification and "DPD" not in wrong.text and "on its way" not in wrong.text
    assert wrong.context.verified_orders == ()

    # The number with the order's email (any case) answers the waiting question.
    right = ask(container, f"{home.lower()} and ADA@Example.com", first.context)
    assert (right.intent, right.needs_verification, right.order_number) == (
        "where_is_my_order",
        False,
        home,
    )
    assert "on its way with DPD (tracking DPD123)" in right.text
    assert "expected by" in right.text
    # The tracking page shows a pickup code while an order waits: the link only to its owner.
    assert "/track/" not in right.text and "tracking link is in your order emails" in right.text
    assert right.context.verified_orders == (home,)
    assert right.transcript[-1].startswith("assistant: Order ")


def test_signed_in_owner_sees_own_order_but_not_anyone_elses(container, client, shop):
    owner = AssistantContext(customer_id=shop["customer"])
    reply = ask(container, f"where is order {shop['pickup']}", owner)
    assert not reply.needs_verification and "ready to collect" in reply.text

    stranger = AssistantContext(customer_id=make_customer(container))
    refused = ask(container, f"where is order {shop['pickup']}", stranger)
    assert refused.needs_verification and "ready to collect" not in refused.text
    none = ask(container, "where is my order", stranger)
    assert "can't find any orders" in none.text


def test_pickup_code_only_once_verified(container, client, shop):
    code = pickup_code_of(container, shop["pickup"])
    unverified = ask(container, f"what's my pickup code for {shop['pickup']}")
    assert unverified.intent == "pickup_code" and unverified.needs_verification
    assert code not in unverified.text
    # The order number and its email (on receipts and labels) do not hand the order over.
    by_email = ask(container, "what's my pickup code", order_number=shop["pickup"], email=EMAIL)
    assert not by_email.needs_verification and "ready to collect at London Camden" in by_email.text
    assert code not in by_email.text and "/track/" not in by_email.text
    owner = AssistantContext(customer_id=shop["customer"])
    signed_in = ask(container, f"what's my pickup code for {shop['pickup']}", owner)
    # Not even to its owner in the chat (agents read it after a handover): the account has it.
    assert code not in signed_in.text and "London Camden" in signed_in.text
    assert f"/account/orders/{shop['pickup']}" in signed_in.text
    not_pickup = ask(container, "collection code please", order_number=shop["home"], email=EMAIL)
    assert "no pickup code" in not_pickup.text and code not in not_pickup.text
    assert "/track/" not in not_pickup.text


def test_cancel_and_change_pickup_store(container, client, shop):
    owner = AssistantContext(customer_id=shop["customer"])
    late = ask(container, f"cancel my order {shop['home']}", owner)
    assert late.intent == "cancel_order" and "can't be cancelled now" in late.text
    open_order = ask(container, f"please cancel order {shop['pickup']}", owner)
    assert f"/account/orders/{shop['pickup']}" in open_order.text
    move = ask(container, f"can I collect {shop['pickup']} from a different store", owner)
    assert (move.intent, move.handover) == ("change_pickup_store", True)
    assert "London Camden" in move.text


def test_stock_at_store_finds_the_item_and_the_store_fuzzily(container, client, shop):
    reply = ask(container, "do you have the red retrospot lunch bag in stock in Camdn?")
    assert reply.intent == "stock_at_store"
    assert "LUNCH BAG RED RETROSPOT (20725): 7 available at London Camden" in reply.text
    by_code = ask(container, "is 85123A in stock at my store", AssistantContext(store="LON1"))
    assert "isn't in stock at London Oxford St" in by_code.text
    assert "It is at Manchester Arndale" in by_code.text
    which = ask(container, "is it in stock at my store")
    assert "Which item" in which.text


def test_opening_hours_from_the_location(container, client, shop):
    reply = ask(container, "what time does the Oxford Street shop close on Sunday?")
    assert reply.intent == "opening_hours"
    assert "London Oxford St is open" in reply.text and "- Sun: 09:00-20:00" in reply.text
    which = ask(container, "what are your opening hours")
    assert "Which store?" in which.text and "Manchester Arndale" in which.text


def _served(client: Any, path: str) -> bool:
    scope = {"type": "http", "path": path, "method": "GET"}
    return any(route.matches(scope)[0] is Match.FULL for route in client.app.routes)


def test_returns_points_greeting_and_agent(container, client, shop):
    policy = ask(container, "what is your return policy?")
    assert policy.intent == "return_policy" and "within 30 days" in policy.text
    start = ask(
        container, "how do I start a return", AssistantContext(customer_id=shop["customer"])
    )
    assert start.intent == "start_return"
    assert "/account/orders/" in start.text and start.text.count("/return") == 1
    anyone = ask(container, "how do I start a return")
    links = [
        p
        for r in (policy, start, anyone)
        for p in re.findall(r"/account(?:/\S*[^\s.,;:!?)])?", r.text)
    ]
    assert len(links) == 3 and all(_served(client, p) for p in links), links

    points = ask(container, "how many points do I have")
    assert points.intent == "points_balance" and points.needs_verification
    # An order number with its email is no proof of the person: the balance is not told.
    by_email = ask(container, "how many points do I have", order_number=shop["pickup"], email=EMAIL)
    assert by_email.needs_verification and "points available" not in by_email.text
    waiting = ask(
        container, f"{shop['pickup']} {EMAIL}", AssistantContext(pending_intent="points_balance")
    )
    assert "points available" not in waiting.text
    with container.uow() as uow:
        loyalty.adjust_points(
            uow, shop["customer"], AdjustmentCreate(points=250, reason="goodwill"), actor="test"
        )
    mine = ask(
        container, "how many points do I have", AssistantContext(customer_id=shop["customer"])
    )
    with container.read_uow() as uow:
        account = loyalty.account_status(uow, shop["customer"])
    assert account.available >= 250
    assert mine.text.startswith(f"You have {account.available} points available (worth £")

    assert ask(container, "hello").intent == "greeting"
    agent = ask(container, "can I speak to a real person please")
    assert (agent.intent, agent.handover) == ("human_agent", True)


def test_below_the_threshold_it_hands_over_with_the_transcript(container, client, shop):
    strict = AssistantConfig(threshold=1.0)
    reply = ask(container, "where is my parcel?", config=strict)
    assert (reply.intent, reply.handover, reply.needs_verification) == (
        "where_is_my_order",
        True,
        False,
    )
    assert "passing you to a colleague" in reply.text
    assert reply.transcript == (
        "customer: where is my parcel?",
        f"assistant: {reply.text}",
    )
    mumbled = ask(container, "zzqx blorp")
    assert mumbled.handover or mumbled.intent == "other"


def test_email_auto_reply(container, client, shop):
    home = shop["home"]
    text = email_auto_reply(container, f"Hi, where is my order {home}? Thanks, Ada", EMAIL)
    assert text is not None and "DPD" in text
    assert email_auto_reply(container, f"Hi, where is my order {home}?", "eve@example.com") is None
    assert (
        email_auto_reply(container, "I want to speak to a manager about a complaint", EMAIL) is None
    )


def test_the_api_answers_verifies_bounds_and_limits(container, client, shop):
    url = "/api/v1/support/assistant"
    anonymous = client.__class__(client.app, raise_server_exceptions=False)
    reply = ok(anonymous.post(url, json={"question": "where is my order?"}))
    assert reply["needs_verification"] and reply["pending_intent"] == "where_is_my_order"
    answered = ok(
        anonymous.post(
            url,
            json={"question": "where is my order?", "order_number": shop["home"], "email": EMAIL},
        )
    )
    assert "DPD" in answered["text"] and answered["order_number"] == shop["home"]
    # A customer id in the body is not a field: it verifies nothing.
    claimed = ok(
        anonymous.post(url, json={"question": "where is my order", "customer_id": shop["customer"]})
    )
    assert claimed["needs_verification"]
    too_long = anonymous.post(url, json={"question": "x" * 1001})
    assert too_long.status_code == 422
    assert too_long.headers["content-type"].startswith("application/problem+json")
    limit = container.settings.support_assistant_requests_per_window
    statuses = [anonymous.post(url, json={"question": "hi"}).status_code for _ in range(limit)]
    assert statuses.count(429) >= 1 and statuses[0] == 200
    refused = anonymous.post(url, json={"question": "hi"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["type"].endswith("/too-many-assistant-questions")


def test_an_operator_intent_takes_effect(container, client, shop, tmp_path: Path):
    extra = tmp_path / "assistant.json"
    extra.write_text(
        json.dumps(
            {
                "intents": {
                    "gift_cards": {
                        "examples": [
                            "do you sell gift cards",
                            "can I buy a gift card",
                            "gift voucher",
                            "where can I get a gift card",
                            "do you have e-gift cards",
                            "gift card balance",
                            "can I pay with a gift card",
                            "I want to buy a voucher for my friend",
                        ],
                        "answer": "Gift cards are sold in every store, from £10 to £200.",
                    }
                }
            }
        )
    )
    before = ask(container, "can I buy a gift card?")
    assert before.intent != "gift_cards"
    config = AssistantConfig(operator_file=extra, cache_dir=tmp_path / "cache")
    after = ask(container, "can I buy a gift card?", config=config)
    assert (after.intent, after.text) == (
        "gift_cards",
        "Gift cards are sold in every store, from £10 to £200.",
    )
    assert list((tmp_path / "cache").glob("support-intents-*.pickle"))


def test_a_pending_intent_from_the_client_is_only_one_that_waits_for_an_order(
    container, client, shop
):
    odd = AssistantContext(pending_intent="gift_cards")
    reply = ask(container, f"{shop['home']} {EMAIL}", odd)
    assert reply.intent != "gift_cards"
    waiting = AssistantContext(pending_intent="pickup_code")
    code = pickup_code_of(container, shop["pickup"])
    answered = ask(container, f"{shop['pickup']} {EMAIL}", waiting)
    assert "ready to collect" in answered.text and code not in answered.text


def test_the_signed_in_route_uses_the_sessions_customer(container, client, shop):
    from omniretail.auth import service as auth
    from omniretail.auth.models import Role
    from omniretail.auth.schemas import PrincipalCreate
    from tests.auth.test_role_matrix import PASSWORD, sign_in
    from tests.customers.helpers import make_customer as make_person

    cara = make_person(container, "Cara Customer", email="cara@example.com", verified=True)
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=cara, password=PASSWORD)
        )
    receive(container, "A1", "LON1", 1)
    token = new_cart(client, customer_id=cara)
    ok(add(client, token, "A1", 1, location="LON1"))
    number = ok(checkout(client, token, "pickup_in_store", pickup="LON1"), 201)["number"]

    url = "/api/v1/support/assistant/me"
    headers = sign_in(client, "cara@example.com")
    mine = ok(client.post(url, json={"question": "where is my order"}, headers=headers))
    assert (mine["needs_verification"], mine["order_number"]) == (False, number)
    # Someone else's order number, signed in: refused without that order's email.
    other = ok(client.post(url, json={"question": f"where is {shop['home']}"}, headers=headers))
    assert other["needs_verification"] and "DPD" not in other["text"]
    # An admin is no customer: the question needs the order number and email.
    admin = ok(client.post(url, json={"question": "where is my order"}))
    assert admin["needs_verification"] and admin["order_number"] is None
    anonymous = client.__class__(client.app, raise_server_exceptions=False)
    assert anonymous.post(url, json={"question": "hi"}).status_code == 401
