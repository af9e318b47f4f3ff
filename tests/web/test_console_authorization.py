"""The console authorises every form as the API authorises the same operation.

Walks every state-changing console route of the app (a new one fails
``test_every_console_form_is_walked`` until it is added to ``cases``) with every role: admin,
service agent, marketer, an associate of the store the objects belong to (LON1) and one of
another store (MAN1), the customer and an anonymous visitor. For each, the console's outcome
(allowed or refused) must be the API's for the equivalent request, a console refusal must show
the API's problem detail, and a refusal must leave every table of the database as it was.

The only refusals the API does not share are the console's audiences: the store app needs a
store (an associate's, or the one an administrator chose) and the account pages a signed-in
customer; there the console must refuse (it is never looser than the API)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from omniretail.auth import policy
from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from omniretail.carts import service as carts
from omniretail.carts.schemas import CartCreate, CartLineAdd
from omniretail.customers import service as merges
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import ReturnRequestCreate
from omniretail.intelligence.schemas import DynamicRuleWrite
from omniretail.intelligence.service import dynamic_pricing
from omniretail.inventory import service as inventory
from omniretail.inventory import service as transfers
from omniretail.inventory.schemas import TransferCreate, TransferLineIn
from omniretail.loyalty import service as loyalty
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import (
    JourneyCreate,
    JourneyDefinition,
    SegmentCreate,
    SendPolicy,
    SuppressionWrite,
)
from omniretail.migrations.registry import Base
from omniretail.orders import service as lookup
from omniretail.orders.schemas import FulfilmentChoice
from omniretail.orders.service import TestPaymentProvider
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import (
    CouponWrite,
    FeeWrite,
    PriceEntryWrite,
    PriceListWrite,
    PromotionWrite,
)
from omniretail.routing import service as planning
from omniretail.support import service as support
from omniretail.support.schemas import ChatStart, ConversationQuery
from omniretail.web import session
from omniretail.web.hq import planning as planning_page
from omniretail.web.hq.journey_form import fields_of
from omniretail.web.hq.loyalty import _values as programme_values
from omniretail.web.hq.marketing_sending import _policy_values
from tests.customers.helpers import make_customer
from tests.web.conftest import csrf_of
from tests.web.seed import (
    ADMIN,
    ASSOCIATE,
    CUSTOMER_EMAIL,
    PASSWORD,
    Seeded,
    place_web_order,
    seed_markdown_suggestion,
    shipped_web_order,
)

API = "/api/v1"
ALERT = re.compile(r'<p role="alert">(.*?)</p>', re.S)
STEP_BODIES = {"ship": {"carrier": "DPD"}, "reject": {"reason": "damaged"}}
# State-changing routes outside the console, and why they need no console declaration.
MARKETING_MESSAGE = {
    "code": "walk",
    "name": "Walk",
    "subject": "Hello {{ customer.first_name }}",
    "body": "A walk through the console.",
}
NOT_CONSOLE = {
    "/track/{token}/pickup/{index}/arrived": "the public tracking page; its link is the credential",
    # Public like /signin: the same steps as the public POST /auth/password-reset(/request);
    # tests/auth/test_password_reset_by_email.py drives them.
    "/signin/forgot": "forgot password: answers the same for every email",
    "/signin/reset": "the emailed one-time code is the credential",
    # The shop's sign-up (auth.sign_up): public, the same answer for every email;
    # tests/web/test_shop_account.py drives them.
    "/signup": "sign-up: answers the same for every email",
    "/signup/code": "the emailed one-time code is the credential",
    "/signup/resend": "a new code for the sign-up named by its signed cookie",
    "/signin/set-password": "the admin's one-time code is the credential (as POST"
    " /auth/password-reset with a token); tests/web/test_admin.py drives it",
    # Marketing links (marketing.messages_api): public, the signed token is the credential;
    # tests/marketing/test_messages.py drives them.
    "/r/{token}": "a tracked link: records the click and redirects (GET only)",
    "/u/{token}": "unsubscribe without signing in: the signed token names customer and channel",
    # The satisfaction survey (support.surveys): public, the link's token is the credential;
    # tests/support_desk/test_measures.py drives it.
    "/survey/{token}": "the survey link sent after a resolution is the credential",
}


@dataclass(frozen=True)
class Who:
    name: str
    role: str
    store: str | None = None  # where the store app works for them
    token: str | None = None  # the platform's bearer token (the console's session cookie too)
    username: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    json: Any = None


@dataclass
class Case:
    """A console form (``url`` with ``form``) and the API requests it stands for; a console
    action without an API route names its ``auth.policy.CONSOLE_ONLY`` key instead."""

    route: str
    url: str
    form: dict[str, str]
    api: Callable[[Who], list[Request]] | None = None
    console_only: str | None = None
    audience: str = "everyone"  # or "store" (needs a store) or "customer"
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class World:
    seeded: Seeded
    fid: str  # a click & collect fulfilment at LON1 (every step is LON1's)
    number: str  # its order
    pickup_code: str
    cancel_number: str  # another LON1 order, to cancel
    shipped_number: str  # a home delivery, shipped: returnable at any store
    ship_transfer: str  # LON1 -> DC1
    receive_transfer: str  # DC1 -> LON1, shipped
    cart: str  # the customer's cart, a unit reserved at LON1
    spare_cart: str  # an anonymous cart
    survivor: int
    merged: int
    dynamic_change: int  # a dynamic price change of A1 on WEB (rule HOT), to revert
    merge_id: int  # an earlier merge, to undo
    rules: str  # the routing rules in force, as the editor shows them
    part_transfer: str  # DC1 -> LON1, shipped, two units: received one at a time
    victim: int  # a store associate the admin screens disable, enable, reset and delete
    system: int  # a system principal that gets API keys
    key_id: int  # one of its keys, to revoke
    return_code: str  # an open return request (in store) of another shipped order
    markdowns: tuple[int, int]  # undecided markdown suggestions: to approve, to reject


@pytest.fixture
def people(container: Container, web: TestClient, seeded: Seeded) -> dict[str, Who]:
    with container.uow() as uow:
        for username, role, store in (
            ("store-man1", Role.STORE_ASSOCIATE, "MAN1"),
            ("agent", Role.SERVICE_AGENT, None),
            ("marketer", Role.MARKETER, None),
        ):
            auth.create_principal(
                uow,
                PrincipalCreate(username=username, role=role, password=PASSWORD, store_code=store),
            )

    def signed_in(name: str, role: str, username: str, store: str | None = None) -> Who:
        r = web.post(f"{API}/auth/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return Who(name, role, store, r.json()["access_token"], username)

    # Roles whose refusals are expected come first, so that what an allowed role changes
    # (a cancelled order has no open lines left) cannot hide a refusal.
    return {
        who.name: who
        for who in (
            Who("anonymous", "anonymous"),
            signed_in("customer", "customer", CUSTOMER_EMAIL),
            signed_in("marketer", "marketer", "marketer"),
            signed_in("associate of another store", "store_associate", "store-man1", "MAN1"),
            signed_in("associate of the store", "store_associate", ASSOCIATE, "LON1"),
            signed_in("service agent", "service_agent", "agent"),
            signed_in("admin", "admin", ADMIN, "LON1"),
        )
    }


@pytest.fixture
def world(container: Container, payments: TestPaymentProvider, seeded: Seeded) -> World:
    cid = seeded.customer_id
    here = FulfilmentChoice(method="pickup_in_store", pickup_location="LON1")
    number = place_web_order(container, cid, payments, "A1", 1, here, "LON1")
    cancel_number = place_web_order(container, cid, payments, "A1", 1, here, "LON1")
    shipped = shipped_web_order(container, cid, payments, "B2", 1)
    to_return = shipped_web_order(container, cid, payments, "A1", 1)
    survivor, merged = make_customer(container, "Sue Vivor"), make_customer(container, "Mo Erged")
    first, second = make_customer(container, "Una Do"), make_customer(container, "Una Do 2")
    with container.uow() as uow:
        order = lookup.get_order(uow, number)

        def transfer(source: str, target: str) -> str:
            body = TransferCreate(
                from_location=source,
                to_location=target,
                lines=[TransferLineIn(sku="A1", quantity=1)],
            )
            return transfers.request_transfer(uow, body, actor="test").id

        outward, inward = transfer("LON1", "DC1"), transfer("DC1", "LON1")
        transfers.ship_transfer(uow, inward, actor="test")
        part = transfers.request_transfer(
            uow,
            TransferCreate(
                from_location="DC1",
                to_location="LON1",
                lines=[TransferLineIn(sku="A1", quantity=7)],
            ),
            actor="test",
        ).id
        transfers.ship_transfer(uow, part, actor="test")
        victim = auth.create_principal(
            uow,
            PrincipalCreate(
                username="victim", role=Role.STORE_ASSOCIATE, store_code="LON2", password=PASSWORD
            ),
        )
        system = auth.create_principal(
            uow, PrincipalCreate(username="wms", role=Role.SERVICE_AGENT, kind="system")
        )
        key = auth.create_api_key(uow, system.id, "old key")
        cart = carts.create_cart(uow, CartCreate(channel="WEB", customer_id=cid), actor="test")
        carts.add_line(
            uow, cart.token, CartLineAdd(sku="A1", quantity=1, location="LON1"), actor="t"
        )
        spare = carts.create_cart(uow, CartCreate(channel="WEB"), actor="test")
        merge = merges.merge_customers(uow, first, second, rule="manual", reason="dup", actor="t")
        rules = planning.get_rules(uow).rules.model_dump(mode="json")
        _pricing_world(uow)
        _segments_world(uow)
        _journeys_world(uow)
        marketing.suppress(uow, SuppressionWrite(customer_id=cid, channel="sms"))
        requested = fulfilment.request_return(
            uow,
            to_return,
            ReturnRequestCreate(
                method="in_store", reason="wrong_size", lines=[{"line_no": 1, "quantity": 1}]
            ),
            window_days=30,
            actor="test",
        )
    with container.uow() as uow:
        dynamic_pricing.save_rule(
            uow, "HOT", DynamicRuleWrite(name="Any", channel="WEB", percent=Decimal("-3"))
        )
        assert dynamic_pricing.run(uow, actor="test").changed >= 1
        dynamic_change = dynamic_pricing.list_changes(uow, sku="A1")[0].id
    return World(
        dynamic_change=dynamic_change,
        seeded=seeded,
        fid=order.fulfilments[0].id,
        number=number,
        pickup_code=_pickup_code(container, number),
        cancel_number=cancel_number,
        shipped_number=shipped,
        ship_transfer=outward,
        receive_transfer=inward,
        cart=cart.token,
        spare_cart=spare.token,
        survivor=survivor,
        merged=merged,
        merge_id=merge.id,
        rules=json.dumps(rules),
        part_transfer=part,
        victim=victim.id,
        system=system.id,
        key_id=key.id,
        return_code=requested.code,
        markdowns=(seed_markdown_suggestion(container), seed_markdown_suggestion(container)),
    )


def _pricing_world(uow: UnitOfWork) -> None:
    """A price list with an entry, a promotion with a coupon, one without to delete, and a
    home-delivery fee on WEB."""
    pricing.save_price_list(uow, "WALK", PriceListWrite(name="Walk", currency="GBP"), actor="test")
    pricing.set_entry(uow, "WALK", "A1", PriceEntryWrite(price=Decimal("19")), actor="test")
    for code in ("WALKPROMO", "WALKGONE"):
        pricing.save_promotion(
            uow,
            code,
            PromotionWrite.model_validate(
                {"name": code, "effect": {"type": "percent_off", "percent": "5"}}
            ),
            actor="test",
        )
    for code in ("WALKCOUPON", "WALKDROP"):
        pricing.create_coupon(uow, CouponWrite(code=code, promotion="WALKPROMO"), actor="test")
    fee = FeeWrite(name="Home delivery", currency="GBP", amount=Decimal("3.95"))
    pricing.save_fee(uow, "WEB", "ship_to_home", fee, actor="test")


def _segments_world(uow: UnitOfWork) -> None:
    marketing.create_segment(uow, SegmentCreate(name="Shoppers", rule="orders >= 1"))


WALK_JOURNEY: dict[str, Any] = {
    "trigger": {"kind": "event", "event": "orders.cart_line_added"},
    "steps": [
        {"id": "wait", "kind": "wait", "hours": 1},
        {"id": "remind", "kind": "send", "message": "walk"},
    ],
    "exit_on": ["orders.order_confirmed"],
}


def _journeys_world(uow: UnitOfWork) -> None:
    definition = JourneyDefinition.model_validate(WALK_JOURNEY)
    marketing.create_journey(
        uow, JourneyCreate(code="walk-journey", name="Walk", definition=definition)
    )


def _slug(who: Who) -> str:
    return who.name.replace(" ", "-")


def _journeys_cases() -> list[Case]:
    """The journey pages' forms; the editor's buttons save nothing (``CONSOLE_ONLY``)."""
    form = fields_of(JourneyDefinition.model_validate(WALK_JOURNEY))
    path = "/marketing/journeys/walk-journey"

    def journey(code: str) -> dict[str, Any]:
        return {"code": code, "name": "Walk", "definition": WALK_JOURNEY}

    return [
        Case(
            "/hq/journeys/classics",
            "/hq/journeys/classics",
            {"classic": "welcome-series"},
            lambda who: [
                Request(
                    "POST", "/marketing/messages", {**MARKETING_MESSAGE, "code": f"w-{_slug(who)}"}
                ),
                Request("POST", "/marketing/journeys", journey(f"classic-{_slug(who)}")),
            ],
        ),
        Case(
            "/hq/journeys/new/edit",
            "/hq/journeys/new/edit",
            {**form, "op": "add:wait"},
            console_only="POST /console/journeys/edit",
        ),
        Case(
            "/hq/journeys/new",
            "/hq/journeys/new",
            {**form, "code": "walk-new", "name": "Walk"},
            lambda who: [Request("POST", "/marketing/journeys", journey(f"api-{_slug(who)}"))],
        ),
        Case(
            "/hq/journeys/{code}/edit",
            "/hq/journeys/walk-journey/edit",
            {**form, "op": "remove:0"},
            console_only="POST /console/journeys/edit",
        ),
        Case(
            "/hq/journeys/{code}",
            "/hq/journeys/walk-journey",
            form,
            lambda _: [Request("PUT", f"{path}/draft", WALK_JOURNEY)],
        ),
        *(
            Case(
                f"/hq/journeys/{{code}}/{verb}",
                f"/hq/journeys/walk-journey/{verb}",
                {"confirm": "yes"} if verb == "archive" else {},
                lambda _, verb=verb: [Request("POST", f"{path}/{verb}", None)],
            )
            for verb in ("publish", "pause", "resume", "archive")
        ),
    ]


def _sending_cases(cid: int) -> list[Case]:
    """The send policy and the suppressions (the world suppresses the customer on sms)."""
    policy = SendPolicy().model_dump(mode="json")
    suppression = {"customer_id": cid, "channel": "email", "reason": "manual"}
    return [
        Case(
            "/hq/marketing/policy",
            "/hq/marketing/policy",
            _policy_values(SendPolicy()),
            lambda _: [Request("PUT", "/marketing/policy", policy)],
        ),
        Case(
            "/hq/marketing/suppressions",
            "/hq/marketing/suppressions",
            {**suppression, "customer_id": str(cid)},
            lambda _: [Request("POST", "/marketing/suppressions", suppression)],
        ),
        Case(
            "/hq/marketing/suppressions/{customer_id}/{channel}/remove",
            f"/hq/marketing/suppressions/{cid}/sms/remove",
            {"confirm": "yes"},
            lambda _: [Request("DELETE", f"/marketing/suppressions/{cid}/sms")],
        ),
    ]


def _segments_cases(container: Container) -> list[Case]:
    with container.read_uow() as uow:
        sid = next(s.id for s in marketing.list_segments(uow) if s.name == "Shoppers")
    rule = {"rule": "orders >= 0"}
    return [
        Case(
            "/hq/segments/preview",
            "/hq/segments/preview",
            rule,
            lambda _: [Request("POST", "/marketing/segments/preview", rule)],
        ),
        Case(
            "/hq/segments",
            "/hq/segments",
            {"name": "Walkers", **rule},
            lambda who: [
                Request(
                    "POST",
                    "/marketing/segments",
                    {"name": f"Walkers by API {who.name}", **rule},
                )
            ],
        ),
        Case(
            "/hq/segments/{segment_id}/refresh",
            f"/hq/segments/{sid}/refresh",
            {},
            lambda _: [Request("POST", f"/marketing/segments/{sid}/refresh", None)],
        ),
        Case(
            "/hq/segments/{segment_id}/delete",
            f"/hq/segments/{sid}/delete",
            {},
            lambda _: [Request("DELETE", f"/marketing/segments/{sid}")],
        ),
    ]


def _pricing_cases(container: Container, cid: int) -> list[Case]:
    with container.read_uow() as uow:
        rate = next(r for r in pricing.list_tax_rates(uow, "GB") if r.tax_class == "standard")
    rate_form = {
        "rate_id": str(rate.id),
        "country": rate.country,
        "tax_class": rate.tax_class,
        "name": rate.name,
        "rate": str(rate.rate),
        "valid_from": rate.valid_from.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
    }
    rate_body = {**rate_form, "valid_from": rate.valid_from.isoformat()}
    rate_body.pop("rate_id")
    price_list = {"name": "Walk", "currency": "GBP", "priority": 0, "active": True}
    promotion = {
        "name": "Walk",
        "effect": {"type": "percent_off", "percent": "5"},
        "priority": 0,
        "active": True,
    }
    quote = {"channel": "WEB", "lines": [{"sku": "A1", "quantity": 1}]}
    batch = {"promotion": "WALKPROMO", "batch": "WALKB", "count": 2, "active": True}
    coupon = {"code": "WALKSHARED", "promotion": "WALKPROMO", "active": True}
    fee = {"name": "Home delivery", "amount": "3.95", "free_over": "50", "tax_class": "standard"}
    return [
        Case(
            "/hq/pricing/price-lists",
            "/hq/pricing/price-lists",
            {"code": "WALK", "name": "Walk", "currency": "GBP", "priority": "0", "active": "on"},
            lambda _: [Request("PUT", "/pricing/price-lists/WALK", price_list)],
        ),
        Case(
            "/hq/pricing/price-lists/{code}/entries",
            "/hq/pricing/price-lists/WALK/entries",
            {"sku": "A1", "price": "18.50"},
            lambda _: [Request("PUT", "/pricing/price-lists/WALK/entries/A1", {"price": "18.50"})],
        ),
        Case(
            "/hq/pricing/price-lists/{code}/entries/upload",
            "/hq/pricing/price-lists/WALK/entries/upload",
            {"csv": "sku,price\nB2,30.00\n"},
            lambda _: [Request("PUT", "/pricing/price-lists/WALK/entries/B2", {"price": "30.00"})],
        ),
        Case(
            "/hq/pricing/price-lists/{code}/entries/{sku}/remove",
            "/hq/pricing/price-lists/WALK/entries/B2/remove",
            {},
            lambda _: [Request("DELETE", "/pricing/price-lists/WALK/entries/B2")],
        ),
        Case(
            "/hq/pricing/price-lists/{code}/delete",
            "/hq/pricing/price-lists/WALK/delete",
            {},
            lambda _: [Request("DELETE", "/pricing/price-lists/WALK")],
        ),
        Case(
            "/hq/pricing/taxes/classes",
            "/hq/pricing/taxes/classes",
            {"class_code": "reduced", "class_name": "Reduced"},
            lambda _: [Request("PUT", "/pricing/tax-classes/reduced", {"name": "Reduced"})],
        ),
        Case(
            "/hq/pricing/taxes/rates",
            "/hq/pricing/taxes/rates",
            rate_form,
            lambda _: [Request("PUT", f"/pricing/tax-rates/{rate.id}", rate_body)],
        ),
        Case(
            "/hq/pricing/taxes/products",
            "/hq/pricing/taxes/products",
            {"product": "HOME", "product_tax_class": "standard"},
            lambda _: [
                Request("PUT", "/pricing/products/HOME/tax-class", {"tax_class": "standard"})
            ],
        ),
        Case(
            "/hq/pricing/promotions",
            "/hq/pricing/promotions",
            {
                "code": "WALKPROMO",
                "name": "Walk",
                "effect_type": "percent_off",
                "percent_off.percent": "5",
                "priority": "0",
                "active": "on",
            },
            lambda _: [Request("PUT", "/pricing/promotions/WALKPROMO", promotion)],
        ),
        *[
            Case(
                "/hq/pricing/promotions/{code}/{action}",
                f"/hq/pricing/promotions/{code}/{action}",
                {},
                lambda _, request=request: [request],
                label=action,
            )
            for code, action, request in (
                ("WALKPROMO", "pause", Request("POST", "/pricing/promotions/WALKPROMO/pause")),
                ("WALKPROMO", "resume", Request("POST", "/pricing/promotions/WALKPROMO/resume")),
                ("WALKGONE", "delete", Request("DELETE", "/pricing/promotions/WALKGONE")),
            )
        ],
        Case(
            "/hq/pricing/try",
            "/hq/pricing/try",
            {"try.channel": "WEB", "try.line0.sku": "A1", "try.line0.quantity": "1"},
            lambda _: [Request("POST", "/pricing/quote", quote)],
        ),
        Case(
            "/hq/pricing/coupons",
            "/hq/pricing/coupons",
            {k: str(v) for k, v in coupon.items()},
            lambda _: [Request("POST", "/pricing/coupons", coupon)],
        ),
        Case(
            "/hq/pricing/coupons",
            "/hq/pricing/coupons",
            {**{k: str(v) for k, v in coupon.items()}, "code": "WALKOWNED", "owner": str(cid)},
            lambda _: [
                Request(
                    "POST", "/pricing/coupons", {**coupon, "code": "WALKOWNED", "customer_id": cid}
                )
            ],
            label="owned",
        ),
        Case(
            "/hq/pricing/coupons/batches",
            "/hq/pricing/coupons/batches",
            {f"bulk.{k}": str(v) for k, v in batch.items()},
            lambda _: [Request("POST", "/pricing/coupons/batches", batch)],
        ),
        *[
            Case(
                "/hq/pricing/coupons/{code}/{action}",
                f"/hq/pricing/coupons/WALKCOUPON/{action}",
                {},
                lambda _, active=active: [
                    Request("PATCH", "/pricing/coupons/WALKCOUPON", {"active": active})
                ],
                label=action,
            )
            for action, active in (("deactivate", False), ("reactivate", True))
        ],
        Case(
            "/hq/pricing/coupons/{code}/{action}",
            "/hq/pricing/coupons/WALKDROP/delete",
            {},
            lambda _: [Request("DELETE", "/pricing/coupons/WALKDROP")],
            label="delete",
        ),
        Case(
            "/hq/pricing/fees",
            "/hq/pricing/fees",
            {"channel": "WEB", "method": "ship_to_home", **fee, "active": "on"},
            lambda _: [
                Request(
                    "PUT",
                    "/pricing/fees/WEB/ship_to_home",
                    {**fee, "currency": "GBP", "active": True},
                )
            ],
        ),
        Case(
            "/hq/pricing/fees/{channel}/{method}/delete",
            "/hq/pricing/fees/WEB/ship_to_home/delete",
            {},
            lambda _: [Request("DELETE", "/pricing/fees/WEB/ship_to_home")],
        ),
    ]


def _pickup_code(container: Container, number: str) -> str:
    with container.read_uow() as uow:
        code = next(iter(lookup.pickup_codes(uow, number).values()), None)
    return code or "NOCODE"


def desk_cases(container: Container, w: World) -> list[Case]:
    """The desk's customer actions (``processes.desk``) and conversation forms (``support``)."""
    cid = w.seeded.customer_id
    # started without an assistant: these chats wait for agents
    with container.uow() as uow:
        chats = [
            support.start_chat(uow, ChatStart(message=f"walk {n}", email="ada@example.com"))
            for n in range(2)
        ]
        listed = support.list_conversations(uow, ConversationQuery(limit=50))
        ids = [next(c.id for c in listed if c.reference == chat.reference) for chat in chats]
        [message] = support.get_conversation(uow, ids[0]).messages or []
    desk = "/support/desk"
    actions: list[tuple[str, dict[str, str], str]] = [
        (
            "refund-line",
            {
                "number": w.shipped_number,
                "line_no": "1",
                "quantity": "1",
                "location": "LON1",
                "reason": "chipped",
            },
            f"{desk}/orders/{w.shipped_number}/refund-line",
        ),
        (
            "start-return",
            {"number": w.shipped_number, "line_no": "1", "quantity": "1"},
            f"{desk}/orders/{w.shipped_number}/return",
        ),
        (
            "cancel-line",
            {"number": w.cancel_number, "line_no": "1", "reason": "customer asked"},
            f"{desk}/orders/{w.cancel_number}/cancel-line",
        ),
        ("resend-pickup-code", {"fid": w.fid}, f"{desk}/fulfilments/{w.fid}/resend-pickup-code"),
        (
            "pickup-store",
            {"fid": w.fid, "store": "LON2", "reason": "customer asked"},
            f"{desk}/fulfilments/{w.fid}/pickup-store",
        ),
        (
            "goodwill-points",
            {"points": "50", "reason": "late parcel"},
            f"{desk}/customers/{cid}/goodwill-points",
        ),
        (
            "goodwill-coupon",
            {"promotion": "WALKPROMO", "reason": "late parcel"},
            f"{desk}/customers/{cid}/goodwill-coupon",
        ),
    ]

    def api_body(form: dict[str, str]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for key, value in form.items():
            if key in ("number", "fid"):
                continue
            body[key] = int(value) if value.isdigit() else value
        return body

    found = [
        Case(
            "/hq/desk/customers/{customer_id}/{action}",
            f"/hq/desk/customers/{cid}/{action}",
            {**form, "confirm": "yes"},
            lambda _, path=path, form=form: [Request("POST", path, api_body(form) or None)],
            label=action,
        )
        for action, form, path in actions
    ]
    conversation = "/support/conversations/{}/{}"
    ops: list[tuple[int, str, dict[str, str], dict[str, Any]]] = [
        (ids[0], "replies", {"body": "On its way"}, {"body": "On its way"}),
        (ids[0], "notes", {"body": "@agent look"}, {"body": "@agent look"}),
        (ids[0], "assign", {"assignee_id": ""}, {"assignee_id": None}),
        (ids[0], "status", {"status": "pending"}, {"status": "pending"}),
        (ids[0], "priority", {"priority": "high"}, {"priority": "high"}),
        (ids[0], "tags", {"add": "vip"}, {"add": ["vip"], "remove": []}),
        (ids[0], "links", {"order_number": w.number}, {"order_number": w.number}),
        (ids[0], "split", {"message_ids": str(message.id)}, {"message_ids": [message.id]}),
        (ids[1], "merge", {"into": str(ids[0])}, {"into": ids[0]}),
    ]
    found += [
        Case(
            "/hq/desk/conversations/{conversation_id}/{op}",
            f"/hq/desk/conversations/{number}/{op}",
            form,
            lambda _, path=conversation.format(number, op), body=body: [
                Request("POST", path, body)
            ],
            label=op,
        )
        for number, op, form, body in ops
    ]
    return found


def cases(container: Container, w: World) -> list[Case]:
    cid = w.seeded.customer_id
    with container.read_uow() as uow:
        programme = loyalty.get_programme(uow)

    def at(who: Who) -> str:
        return who.store or "LON1"

    def steps(prefix: str, route: str, audience: str) -> list[Case]:
        found = []
        for step in ("accept", "pick", "pack", "ready", "ship", "deliver", "collect", "reject"):
            body: dict[str, Any] = dict(STEP_BODIES.get(step, {}))
            if step == "collect":
                body = {"pickup_code": w.pickup_code}
            found.append(
                Case(
                    route,
                    f"{prefix}/orders/{w.number}/fulfilments/{w.fid}/{step}",
                    {k: str(v) for k, v in body.items()},
                    lambda _who, step=step, body=body: [
                        Request("POST", f"/fulfilments/{w.fid}/{step}", body)
                    ],
                    audience=audience,
                    label=step,
                )
            )
        return found

    adjust = {"quantity_delta": -1, "reason": "damaged"}
    sim = {"channel": "WEB", "method": "ship_to_home", "lines": [{"sku": "A1", "quantity": 1}]}
    lookup_body = {"kind": "email", "value": CUSTOMER_EMAIL}
    location = {
        "code": "NEW1",
        "name": "New store",
        "kind": "store",
        "latitude": 51.5,
        "longitude": -0.1,
        "opening_hours": {},
    }
    consent = {
        "purpose": "marketing",
        "channel": "email",
        "granted": True,
        "source": "web",
        "method": "preference centre",
    }
    return [
        # --- public and session
        Case(
            "/signin",
            "/signin",
            {"password": PASSWORD},
            lambda who: [Request("POST", "/auth/token", None)],
            label="sign in",
        ),
        Case("/signout", "/signout", {}, console_only="POST /console/signout"),
        Case(
            "/password",
            "/password",
            # Refused by validation after the decision (the confirmation differs): nothing
            # changes, whoever asks.
            {"current_password": "x", "new_password": "a" * 12, "confirm_password": "b" * 12},
            lambda _: [
                Request("POST", "/auth/password", {"current_password": "x", "new_password": ""})
            ],
            label="change password",
        ),
        # --- HQ: inventory
        Case(
            "/hq/inventory/{sku}/{location}/adjust",
            "/hq/inventory/A1/LON1/adjust",
            {k: str(v) for k, v in adjust.items()},
            lambda _: [
                Request(
                    "POST", "/inventory/adjustments", {"sku": "A1", "location": "LON1", **adjust}
                )
            ],
        ),
        Case(
            "/hq/inventory/{sku}/{location}/count",
            "/hq/inventory/A1/LON1/count",
            {"counted_quantity": "4"},
            lambda _: [
                Request(
                    "POST",
                    "/inventory/counts",
                    {"sku": "A1", "location": "LON1", "counted_quantity": 4},
                )
            ],
        ),
        Case(
            "/hq/transfers",
            "/hq/transfers",
            {
                "from_location": "LON1",
                "to_location": "LON2",
                "line0.sku": "A1",
                "line0.quantity": "1",
            },
            lambda _: [
                Request(
                    "POST",
                    "/inventory/transfers",
                    {
                        "from_location": "LON1",
                        "to_location": "LON2",
                        "lines": [{"sku": "A1", "quantity": 1}],
                    },
                )
            ],
        ),
        *[
            Case(
                "/hq/transfers/{transfer_id}/{action}",
                f"/hq/transfers/{tid}/{action}",
                {},
                lambda _, tid=tid, action=action: [
                    Request("POST", f"/inventory/transfers/{tid}/{action}", None)
                ],
                label=action,
            )
            for tid, action in (
                (w.ship_transfer, "ship"),
                (w.receive_transfer, "receive"),
                (w.ship_transfer, "cancel"),
            )
        ],
        # --- HQ: the agent's desk (actions for a customer, conversations)
        *desk_cases(container, w),
        # --- HQ: orders, routing, customers, loyalty, planning
        *steps("/hq", "/hq/orders/{number}/fulfilments/{fid}/{step}", "everyone"),
        Case(
            "/hq/orders/{number}/cancel",
            f"/hq/orders/{w.cancel_number}/cancel",
            {"reason": "customer request"},
            lambda _: [
                Request("POST", f"/orders/{w.cancel_number}/cancel", {"reason": "customer request"})
            ],
        ),
        Case(
            "/hq/routing/simulate",
            "/hq/routing/simulate",
            {"channel": "WEB", "method": "ship_to_home", "line0.sku": "A1", "line0.quantity": "1"},
            lambda _: [Request("POST", "/routing/simulate", sim)],
        ),
        Case(
            "/hq/routing/rules",
            "/hq/routing/rules",
            {"name": "same again", "rules": w.rules},
            lambda _: [
                Request(
                    "PUT", "/routing/rules", {"name": "same again", "rules": json.loads(w.rules)}
                )
            ],
        ),
        Case(
            "/hq/customers/lookup",
            "/hq/customers/lookup",
            lookup_body,
            lambda _: [Request("POST", "/customers/lookup", lookup_body)],
        ),
        Case(
            "/hq/customers/{customer_id}/merge",
            f"/hq/customers/{w.survivor}/merge",
            {"merged_id": str(w.merged), "reason": "same person"},
            lambda _: [
                Request(
                    "POST",
                    "/customers/merges",
                    {"survivor_id": w.survivor, "merged_id": w.merged, "reason": "same person"},
                )
            ],
        ),
        Case(
            "/hq/customers/{customer_id}/merges/{merge_id}/undo",
            f"/hq/customers/{w.survivor}/merges/{w.merge_id}/undo",
            {"reason": "not the same"},
            lambda _: [
                Request("POST", f"/customers/merges/{w.merge_id}/undo", {"reason": "not the same"})
            ],
        ),
        Case(
            "/hq/loyalty",
            "/hq/loyalty",
            programme_values(programme.rules),
            lambda _: [
                Request("PUT", "/loyalty/programme", programme.rules.model_dump(mode="json"))
            ],
        ),
        Case(
            "/hq/marketing/messages",
            "/hq/marketing/messages",
            {k: str(v) for k, v in MARKETING_MESSAGE.items()},
            lambda _: [Request("POST", "/marketing/messages", MARKETING_MESSAGE)],
        ),
        Case(
            "/hq/marketing/messages/{code}",
            "/hq/marketing/messages/walk",
            {k: str(v) for k, v in MARKETING_MESSAGE.items() if k != "code"},
            lambda _: [
                Request(
                    "PUT",
                    "/marketing/messages/walk",
                    {k: v for k, v in MARKETING_MESSAGE.items() if k != "code"},
                )
            ],
        ),
        Case("/hq/planning/run", "/hq/planning/run", {}, console_only="POST /console/planning/run"),
        *(
            Case(
                f"/hq/markdowns/{{suggestion_id}}/{verb}",
                f"/hq/markdowns/{suggestion}/{verb}",
                {},
                lambda _, path=f"/markdowns/{suggestion}/{verb}": [Request("POST", path, None)],
            )
            for verb, suggestion in zip(("approve", "reject"), w.markdowns, strict=True)
        ),
        Case(
            "/hq/markdowns/runs",
            "/hq/markdowns/runs",
            {},
            lambda _: [Request("POST", "/markdowns/runs", None)],
        ),
        Case(
            "/hq/dynamic-pricing/rules",
            "/hq/dynamic-pricing/rules",
            {"code": "hot", "name": "Any", "channel": "WEB", "percent": "-3", "priority": "0"},
            lambda _: [
                Request(
                    "PUT",
                    "/dynamic-pricing/rules/HOT",
                    {"name": "Any", "channel": "WEB", "percent": "-3", "priority": 0},
                )
            ],
        ),
        Case(
            "/hq/dynamic-pricing/rules/{code}/{action}",
            "/hq/dynamic-pricing/rules/HOT/pause",
            {},
            lambda _: [Request("POST", "/dynamic-pricing/rules/HOT/pause", None)],
        ),
        Case(
            "/hq/dynamic-pricing/preview",
            "/hq/dynamic-pricing/preview",
            {},
            lambda _: [Request("POST", "/dynamic-pricing/preview", {})],
        ),
        Case(
            "/hq/dynamic-pricing/changes/{change_id}/revert",
            f"/hq/dynamic-pricing/changes/{w.dynamic_change}/revert",
            {},
            lambda _: [
                Request("POST", f"/dynamic-pricing/changes/{w.dynamic_change}/revert", None)
            ],
        ),
        Case(
            "/hq/customers/lookup",
            "/hq/customers/lookup",
            {"kind": "name", "value": "Lovelace"},
            lambda _: [Request("POST", "/customers/search", {"by": "name", "value": "Lovelace"})],
            label="search by name",
        ),
        # --- HQ: pricing (price lists, taxes, promotions, coupons)
        *_pricing_cases(container, cid),
        # --- HQ: marketing segments
        *_segments_cases(container),
        # --- HQ: marketing journeys
        *_journeys_cases(),
        # --- HQ: marketing sending (policy, suppressions)
        *_sending_cases(cid),
        # --- HQ: administration
        Case(
            "/hq/people",
            "/hq/people",
            {"username": "made-here", "role": "store_associate", "store_code": "LON1"},
            lambda who: [
                Request(
                    "POST",
                    "/auth/principals",
                    {
                        "username": f"made-by-api-{who.name.replace(' ', '-')}",
                        "role": "store_associate",
                        "store_code": "LON1",
                    },
                )
            ],
        ),
        *[
            Case(
                "/hq/people/{principal_id}/{action}",
                f"/hq/people/{w.victim}/{action}",
                {},
                lambda _, request=request: [request],
                label=action,
            )
            for action, request in (
                ("disable", Request("PATCH", f"/auth/principals/{w.victim}", {"active": False})),
                ("enable", Request("PATCH", f"/auth/principals/{w.victim}", {"active": True})),
                ("reset", Request("POST", f"/auth/principals/{w.victim}/password-reset")),
                ("delete", Request("DELETE", f"/auth/principals/{w.victim}")),
            )
        ],
        Case(
            "/hq/api-keys",
            "/hq/api-keys",
            {"principal_id": str(w.system), "label": "scanner"},
            lambda _: [
                Request("POST", f"/auth/principals/{w.system}/api-keys", {"label": "scanner"})
            ],
        ),
        Case(
            "/hq/api-keys/{key_id}/revoke",
            f"/hq/api-keys/{w.key_id}/revoke",
            {},
            lambda _: [Request("POST", f"/auth/api-keys/{w.key_id}/revoke")],
        ),
        Case(
            "/hq/locations",
            "/hq/locations",
            {k: str(v) for k, v in location.items() if k != "opening_hours"},
            lambda _: [Request("PUT", "/locations/NEW1", location)],
        ),
        Case(
            "/hq/channels",
            "/hq/channels",
            {"code": "NEWCH", "name": "New channel", "kind": "app"},
            lambda _: [
                Request(
                    "PUT",
                    "/channels/NEWCH",
                    {"code": "NEWCH", "name": "New channel", "kind": "app"},
                )
            ],
        ),
        # --- the store app
        Case(
            "/store/choose",
            "/store/choose",
            {"store": "LON1"},
            console_only="POST /console/store/choose",
        ),
        *steps("/store", "/store/orders/{number}/fulfilments/{fid}/{step}", "store"),
        Case(
            "/store/returns",
            "/store/returns",
            {"kind": "number", "value": w.shipped_number},
            lambda _: [Request("GET", "/orders", None)],
            audience="store",
            label="by number",
        ),
        Case(
            "/store/returns",
            "/store/returns",
            lookup_body,
            lambda _: [
                Request("GET", "/orders", None),
                Request("POST", "/customers/lookup", lookup_body),
            ],
            audience="store",
            label="by email",
        ),
        Case(
            "/store/returns/{number}",
            f"/store/returns/{w.shipped_number}",
            {"qty-1": "1", "condition-1": "sellable"},
            lambda who: [
                Request(
                    "POST",
                    f"/orders/{w.shipped_number}/returns",
                    {
                        "location": at(who),
                        "lines": [{"line_no": 1, "quantity": 1, "condition": "sellable"}],
                    },
                )
            ],
            audience="store",
        ),
        Case(
            "/store/return-requests/{code}",
            f"/store/return-requests/{w.return_code}",
            {"condition-1": "sellable"},
            lambda who: [
                Request(
                    "POST",
                    f"/return-requests/{w.return_code}/receive",
                    {"location": at(who), "lines": [{"line_no": 1, "condition": "sellable"}]},
                )
            ],
            audience="store",
        ),
        Case(
            "/store/find/order",
            "/store/find/order",
            {"sku": "A1", "quantity": "1", **lookup_body},
            lambda who: [
                Request("POST", "/customers/lookup", lookup_body),
                Request("POST", "/carts", {"channel": "WEB", "customer_id": cid}),
                Request(
                    "POST",
                    f"/carts/{w.spare_cart}/lines",
                    {"sku": "A1", "quantity": 1, "location": at(who)},
                ),
            ],
            audience="store",
        ),
        Case(
            "/store/carts/{token}/checkout",
            f"/store/carts/{w.cart}/checkout",
            {"method": "pickup_in_store", "provider_token": "tok_visa"},
            lambda who: [
                Request(
                    "POST",
                    f"/carts/{w.cart}/checkout",
                    {
                        "fulfilment": {"method": "pickup_in_store", "pickup_location": at(who)},
                        "payment": {"provider_token": "tok_visa"},
                    },
                )
            ],
            audience="store",
        ),
        Case(
            "/store/transfers/{transfer_id}/receive",
            f"/store/transfers/{w.part_transfer}/receive",
            {"qty-A1": "1"},
            lambda _: [
                Request(
                    "POST",
                    f"/inventory/transfers/{w.part_transfer}/receive",
                    {"lines": [{"sku": "A1", "quantity": 1}]},
                )
            ],
            audience="store",
        ),
        Case(
            "/store/loyalty",
            "/store/loyalty",
            lookup_body,
            lambda _: [Request("POST", "/customers/lookup", lookup_body)],
            audience="store",
        ),
        # "send code to customer": the redemption itself needs the code the customer reads out
        Case(
            "/store/loyalty/{customer_id}/redeem",
            f"/store/loyalty/{cid}/redeem",
            {"points": "10", "confirm": "yes", "send_code": "1"},
            lambda _: [
                Request(
                    "POST",
                    f"/loyalty/customers/{cid}/presence-codes",
                    {"reference": "", "points": 1},
                )
            ],
            audience="store",
        ),
        # --- the till (an empty anonymous cart stands for the sale)
        Case(
            "/store/till",
            "/store/till",
            {"sku": "A1"},
            lambda who: [
                Request(
                    "POST",
                    f"/carts/{w.spare_cart}/lines",
                    {"sku": "A1", "quantity": 1, "location": at(who)},
                ),
                Request("POST", "/carts", {"channel": "POS"}),
            ],
            audience="store",
        ),
        Case(
            "/store/till/{token}/scan",
            f"/store/till/{w.spare_cart}/scan",
            {"sku": "A1"},
            lambda who: [
                Request(
                    "POST",
                    f"/carts/{w.spare_cart}/lines",
                    {"sku": "A1", "quantity": 1, "location": at(who)},
                )
            ],
            audience="store",
        ),
        Case(
            "/store/till/{token}/lines/{sku}",
            f"/store/till/{w.spare_cart}/lines/B2",
            {"quantity": "0"},
            lambda who: [
                Request(
                    "PATCH",
                    f"/carts/{w.spare_cart}/lines/B2",
                    {"quantity": 0, "location": at(who)},
                )
            ],
            audience="store",
        ),
        Case(
            "/store/till/{token}/coupons",
            f"/store/till/{w.spare_cart}/coupons",
            {"code": "NOSUCHCODE"},
            lambda _: [Request("POST", f"/carts/{w.spare_cart}/coupons", {"code": "NOSUCHCODE"})],
            audience="store",
        ),
        Case(
            "/store/till/{token}/customer",
            f"/store/till/{w.spare_cart}/customer",
            lookup_body,
            lambda _: [Request("POST", "/customers/lookup", lookup_body)],
            audience="store",
        ),
        Case(
            "/store/till/{token}/pay",
            f"/store/till/{w.spare_cart}/pay",
            {"method": "card", "provider_token": "tok_visa"},
            lambda who: [
                Request(
                    "POST",
                    f"/carts/{w.spare_cart}/checkout",
                    {
                        "channel": "POS",
                        "fulfilment": {"method": "pickup_in_store", "pickup_location": at(who)},
                        "payment": {"provider_token": "tok_visa"},
                    },
                )
            ],
            audience="store",
        ),
        Case(
            "/store/till/receipts/{number}/email",
            f"/store/till/receipts/{w.number}/email",
            {"receipt_email": CUSTOMER_EMAIL},
            lambda _: [Request("GET", f"/orders/{w.number}", None)],
            audience="store",
        ),
        # --- the customer's own pages
        Case(
            "/account/privacy/consents",
            "/account/privacy/consents",
            {"marketing.email": "on"},
            lambda _: [Request("POST", f"/customers/{cid}/consents", consent)],
            audience="customer",
        ),
        Case(
            "/account/privacy/export",
            "/account/privacy/export",
            {},
            lambda _: [Request("GET", f"/customers/{cid}/export", None)],
            audience="customer",
        ),
        # --- the customer's basket and checkout (their active cart: w.cart)
        Case(
            "/shop/basket/add",
            "/shop/basket/add",
            {"sku": "A1", "quantity": "1"},
            lambda _: [
                Request("POST", "/carts", {"channel": "WEB", "customer_id": cid}),
                Request("POST", f"/carts/{w.cart}/lines", {"sku": "A1", "quantity": 1}),
            ],
            audience="customer",
        ),
        Case(
            "/shop/basket/lines/{sku}",
            "/shop/basket/lines/A1",
            {"quantity": "1"},
            lambda _: [Request("PATCH", f"/carts/{w.cart}/lines/A1", {"quantity": 1})],
            audience="customer",
        ),
        Case(
            "/shop/basket/coupons",
            "/shop/basket/coupons",
            {"code": "NOSUCHCODE"},
            lambda _: [Request("POST", f"/carts/{w.cart}/coupons", {"code": "NOSUCHCODE"})],
            audience="customer",
        ),
        Case(
            "/shop/checkout",
            "/shop/checkout",
            {
                "token": w.cart,
                "version": "1",
                "option": "pickup_in_store@LON1",
                "provider_token": "tok_visa",
            },
            lambda _: [
                Request(
                    "POST",
                    f"/carts/{w.cart}/checkout",
                    {
                        "channel": "WEB",
                        "fulfilment": {"method": "pickup_in_store", "pickup_location": "LON1"},
                        "payment": {"provider_token": "tok_visa"},
                    },
                )
            ],
            audience="customer",
        ),
        # The chat widget's first message from a signed-in customer: linked to their profile
        Case(
            "/shop/chat",
            "/shop/chat",
            {"message": "Where is my order?"},
            lambda _: [
                Request(
                    "POST", f"/customers/{cid}/support/chats", {"message": "Where is my order?"}
                )
            ],
            audience="customer",
        ),
        # "Tell me when it's back" on the product page: at the customer's store (LON1)
        Case(
            "/shop/products/{sku}/alert",
            "/shop/products/C3/alert",
            {},
            lambda _: [
                Request("POST", f"/customers/{cid}/stock-alerts", {"sku": "C3", "store": "LON1"})
            ],
            audience="customer",
        ),
        Case(
            "/account/details/address",
            "/account/details/address",
            {"line1": "1 High St", "city": "London", "postcode": "NW1 6XE"},
            lambda _: [
                Request(
                    "PATCH",
                    f"/customers/{cid}",
                    {
                        "address": {
                            "line1": "1 High St",
                            "city": "London",
                            "postcode": "NW1 6XE",
                            "country": "United Kingdom",
                        }
                    },
                )
            ],
            audience="customer",
        ),
        Case(
            "/account/details/store",
            "/account/details/store",
            {"store": "MAN1"},
            lambda _: [Request("PATCH", f"/customers/{cid}", {"home_store": "MAN1"})],
            audience="customer",
        ),
        Case(
            "/account/orders/{number}/cancel",
            f"/account/orders/{w.cancel_number}/cancel",
            {},
            lambda _: [Request("POST", f"/orders/{w.cancel_number}/cancel", {})],
            audience="customer",
        ),
        Case(
            "/account/orders/{number}/return",
            f"/account/orders/{w.shipped_number}/return",
            {"qty-1": "1", "reason": "changed_mind", "method": "post"},
            lambda _: [
                Request(
                    "POST",
                    f"/orders/{w.shipped_number}/return-requests",
                    {
                        "method": "post",
                        "reason": "changed_mind",
                        "lines": [{"line_no": 1, "quantity": 1}],
                    },
                )
            ],
            audience="customer",
        ),
        Case(
            "/account/returns/{code}/cancel",
            f"/account/returns/{w.return_code}/cancel",
            {},
            lambda _: [Request("POST", f"/return-requests/{w.return_code}/cancel", None)],
            audience="customer",
        ),
        # Last: the admin's API request erases the customer.
        Case(
            "/account/privacy/erase",
            "/account/privacy/erase",
            {"confirm": "ERASE"},
            lambda _: [Request("POST", f"/customers/{cid}/erase", None)],
            audience="customer",
        ),
    ]


# --- the walk --------------------------------------------------------------------------------


def console_forms(client: TestClient) -> set[str]:
    """Every route outside the API that changes something (POST, PUT, PATCH, DELETE)."""

    def walk(routes: list[Any], prefix: str) -> Any:
        for route in routes:
            included = getattr(route, "original_router", None)
            if included is not None:  # FastAPI's included routers
                yield from walk(included.routes, prefix + route.include_context.prefix)
            elif isinstance(route, APIRoute):
                yield prefix + route.path, route.methods

    app: Any = client.app
    return {
        path
        for path, methods in walk(app.router.routes, "")
        if not path.startswith(API) and set(methods) - {"GET", "HEAD", "OPTIONS"}
    }


def snapshot(container: Container) -> dict[str, Any]:
    """Every row of every table (on PostgreSQL in one statement: the walk takes hundreds)."""
    with container.read_uow() as uow:
        conn = uow.session.connection()
        existing = set(inspect(conn).get_table_names())
        tables = [t for t in Base.metadata.sorted_tables if t.name in existing]
        if conn.dialect.name == "postgresql":
            query = " UNION ALL ".join(
                f"SELECT '{t.name}', (SELECT string_agg(r::text, '|' ORDER BY r::text)"
                f' FROM "{t.name}" r)'
                for t in tables
            )
            return {name: rows for name, rows in conn.execute(text(query))}
        # the driver's rows as stored: no type processing (the walk takes hundreds)
        return {
            t.name: sorted(map(repr, conn.exec_driver_sql(f'SELECT * FROM "{t.name}"')))
            for t in tables
        }


def submit_console(client: TestClient, container: Container, case: Case, who: Who) -> Any:
    client.cookies.clear()
    if case.route == "/signin":
        page = client.get("/signin")
        username = who.username or CUSTOMER_EMAIL
        data = {**case.form, "username": username, "csrf_token": csrf_of(page.text)}
        return client.post("/signin", data=data)
    data = dict(case.form)
    if who.token is not None:
        client.cookies.set(session.SESSION_COOKIE, who.token)
        if who.role == "admin":
            client.cookies.set(session.STORE_COOKIE, "LON1")
        data["csrf_token"] = session.csrf_for(container, who.token)
    return client.post(case.url, data=data)


def submit_api(client: TestClient, case: Case, who: Who) -> tuple[bool, str, bool]:
    """Allowed, or refused with the problem's detail (the first refused request's); and
    whether any request was let through (and so may have written)."""
    assert case.api is not None
    client.cookies.clear()
    for i, req in enumerate(case.api(who)):
        if req.path == "/auth/token":
            username = who.username or CUSTOMER_EMAIL
            r = client.post(f"{API}/auth/token", data={"username": username, "password": PASSWORD})
        else:
            kwargs: dict[str, Any] = {} if req.json is None else {"json": req.json}
            r = client.request(req.method, API + req.path, headers=who.headers, **kwargs)
        if r.status_code in (401, 403):
            return False, str(r.json()["detail"]), i > 0
        assert r.status_code < 500, (case.url, who.name, r.text)
    return True, "", True


def console_outcome(response: Any) -> tuple[bool, str]:
    if response.status_code == 303 and response.headers["location"].startswith("/signin?next="):
        return False, "sign in"
    if response.status_code in (401, 403):
        found = ALERT.search(response.text)
        return False, html.unescape(found.group(1)) if found else response.text[:200]
    return True, ""


def in_audience(case: Case, who: Who) -> bool:
    if case.audience == "store":
        return who.store is not None
    if case.audience == "customer":
        return who.role == "customer"
    return True


@pytest.fixture
def no_planning_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """The planning form starts the replenishment job; here the job does nothing."""
    monkeypatch.setattr(planning_page, "replenishment_plan", lambda *_args: {})


def test_every_console_form_is_walked(container: Container, web: TestClient, world: World) -> None:
    walked = {case.route for case in cases(container, world)}
    assert console_forms(web) - set(NOT_CONSOLE) == walked


def test_the_console_allows_and_refuses_every_form_as_the_api_does(
    container: Container,
    web: TestClient,
    people: dict[str, Who],
    world: World,
    no_planning_job: None,
) -> None:
    wrong: list[tuple[str, str, str, str]] = []
    before = snapshot(container)
    assert before["stock_levels"] and before["orders"] and not before["audit_log"]
    for case in cases(container, world):
        what = f"{case.url} {case.label}".strip()
        for who in people.values():
            response = submit_console(web, container, case, who)
            allowed, message = console_outcome(response)
            if not allowed:
                after = snapshot(container)
                changed = sorted(t for t in after if after[t] != before[t])
                if changed:
                    wrong.append((what, who.name, "the refusal wrote to", ", ".join(changed)))
            if case.console_only is not None:
                rule = policy.rule_for(*case.console_only.split(" ", 1))
                assert rule is not None
                permitted = who.token is not None and policy.allows(who.role, rule)
                api = (permitted, message, False)
            else:
                api = submit_api(web, case, who)
            if who.token is None and case.route != "/signin":
                expected = (False, "sign in")
                assert api[0] is False, (what, "the API let an anonymous caller in")
            elif not in_audience(case, who):
                expected = (False, message)  # the console's audience, whatever the API says
            else:
                expected = (api[0], "" if api[0] else api[1])
            if (allowed, message) != expected:
                got = f"console {response.status_code} {message!r}"
                wrong.append((what, who.name, got, f"expected {expected}"))
            if allowed or api[2]:
                before = snapshot(container)  # something may have changed
        if case.route == "/signout":  # it revoked each session: everyone signs in again
            people = {k: signed_in_again(web, who) for k, who in people.items()}
    assert wrong == [], "\n".join(map(str, wrong))


def signed_in_again(web: TestClient, who: Who) -> Who:
    if who.token is None:
        return who
    r = web.post(f"{API}/auth/token", data={"username": who.username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return replace(who, token=r.json()["access_token"])


def test_an_associate_cannot_count_another_stores_shelf_through_the_hq_form(
    container: Container, web: TestClient, people: dict[str, Who]
) -> None:
    """The penetration test's finding: the HQ count form checked the permission only."""
    other = people["associate of another store"]
    with container.read_uow() as uow:
        before = inventory.get_stock_level(uow, "A1", "LON1")
        ledger = len(inventory.list_movements(uow, sku="A1", location="LON1", limit=1000))
        audit = auth.list_audit(uow, area=None, limit=1000)
    api = web.post(
        f"{API}/inventory/counts",
        headers=other.headers,
        json={"sku": "A1", "location": "LON1", "counted_quantity": 4},
    )
    assert api.status_code == 403
    detail = api.json()["detail"]
    assert detail == "store associates of MAN1 may not change stock at LON1"
    case = Case(
        "/hq/inventory/{sku}/{location}/count",
        "/hq/inventory/A1/LON1/count",
        {"counted_quantity": "4"},
    )
    page = submit_console(web, container, case, other)
    assert page.status_code == 403
    assert console_outcome(page) == (False, detail)
    with container.read_uow() as uow:
        assert inventory.get_stock_level(uow, "A1", "LON1") == before
        assert len(inventory.list_movements(uow, sku="A1", location="LON1", limit=1000)) == ledger
        assert auth.list_audit(uow, area=None, limit=1000) == audit
    # Their own shelf: the console books the count, with the audit row the API writes.
    own = Case(
        "/hq/inventory/{sku}/{location}/count",
        "/hq/inventory/A1/MAN1/count",
        {"counted_quantity": "2"},
    )
    assert submit_console(web, container, own, other).status_code == 303
    with container.read_uow() as uow:
        assert inventory.get_stock_level(uow, "A1", "MAN1").on_hand == 2
        [row] = auth.list_audit(uow, area="inventory", limit=1)
    assert (row.actor, row.action, row.subject) == (
        "store_associate:store-man1",
        "POST /inventory/counts",
        "/hq/inventory/A1/MAN1/count",
    )
