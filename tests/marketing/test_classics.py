"""The classic journeys as data: every definition validates, names only its own messages,
triggers on catalogue events, and every message renders with good copy; installing one
creates what it needs (A's engine stood in by a recording stub until merged)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

import omniretail
from omniretail.bootstrap import Container
from omniretail.kernel.errors import DomainError
from omniretail.kernel.events import EVENT_CLASSES
from omniretail.loyalty.schemas import ProgrammeRules, TierRule
from omniretail.marketing import service as marketing
from omniretail.marketing.journeys_classics import (
    CLASSICS,
    classic,
    classic_definitions,
    install_classic,
    tier_up_condition,
)
from omniretail.marketing.journeys_definition import (
    ConditionStep,
    CouponStep,
    EventTrigger,
    SegmentTrigger,
    SendStep,
)
from omniretail.marketing.messages_rendering import Links, check_template, render_channel
from omniretail.marketing.segments_rules import compile_rule, matches
from omniretail.pricing import service as pricing
from tests.customers.helpers import make_customer

EXPECTED = {
    "welcome-series",
    "abandoned-cart",
    "browse-abandoned",
    "back-in-stock",
    "price-drop",
    "win-back",
    "birthday-coupon",
    "post-purchase-delivered",
    "post-purchase-collected",
    "loyalty-tier-up",
}
CONTEXT: dict[str, Any] = {
    "customer": {"id": 7, "first_name": "Ada", "tier": "Gold", "points": 420},
    "buy_again": [{"sku": "A1", "name": "Oat milk", "quantity": 3}],
    "coupon": {"code": "WB-7Q2K"},
    "product": {"name": "Trail runner 2", "price": "59.00", "currency": "GBP"},
    "store": {"name": "London Oxford St", "available": 4},
    "cart": {"lines": [{"name": "Trail runner 2", "quantity": 1}]},
    "event": {"old_price": "79.00", "new_price": "59.00", "currency": "GBP", "order": "W-1001"},
}
NO_LINKS = Links(link="/r/token", unsubscribe="/u/token")


def load_event_modules() -> None:
    for package in pkgutil.iter_modules(omniretail.__path__):
        if package.ispkg:
            try:
                importlib.import_module(f"omniretail.{package.name}.events")
            except ModuleNotFoundError as exc:
                if exc.name != f"omniretail.{package.name}.events":
                    raise


def test_every_classic_is_there_and_validates() -> None:
    definitions = classic_definitions()
    assert set(definitions) == EXPECTED
    assert len({c.code for c in CLASSICS}) == len(CLASSICS)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_sends_name_the_classics_own_messages_and_rules_compile(code: str) -> None:
    spec = classic(code)
    definition = spec.definition()
    own = {m.code for m in spec.messages}
    sent = {s.message for s in definition.steps if isinstance(s, SendStep)}
    assert sent and sent <= own, (sent, own)
    assert own <= sent  # no message shipped that nothing sends
    for step in definition.steps:
        if isinstance(step, ConditionStep):
            compile_rule(step.rule)
        if isinstance(step, CouponStep):
            assert step.promotion in {p.code for p in spec.promotions}
    if spec.segment is not None:
        compile_rule(spec.segment.rule)
        assert isinstance(definition.trigger, SegmentTrigger)


def test_event_triggers_and_exits_are_catalogue_events() -> None:
    load_event_modules()
    for code, definition in classic_definitions().items():
        named = [*list(definition.exit_on), definition.goal.event]
        if isinstance(definition.trigger, EventTrigger):
            named.append(definition.trigger.event)
        for event_type in named:
            assert event_type in EVENT_CLASSES, (code, event_type)
    assert classic_definitions()["back-in-stock"].steps[0].premise == "in_stock"  # type: ignore[union-attr]
    price = [s for s in classic_definitions()["price-drop"].steps if isinstance(s, SendStep)]
    assert {s.premise for s in price} == {"price_lower"}


def test_tier_up_condition_is_true_only_for_a_higher_tier() -> None:
    programme = ProgrammeRules(
        tiers=[
            TierRule(name="Bronze", threshold=0),
            TierRule(name="Silver", threshold=500),
            TierRule(name="Gold", threshold=2000),
        ]
    )
    program = compile_rule(tier_up_condition(programme))

    def up(previous: str, tier: str) -> bool:
        return matches(program, {"event": {"previous": previous, "tier": tier}})

    assert up("Bronze", "Silver") and up("Bronze", "Gold") and up("Silver", "Gold")
    assert not up("Gold", "Silver") and not up("Silver", "Bronze") and not up("Gold", "Bronze")


@pytest.mark.parametrize(
    "message",
    list({m.code: m for c in CLASSICS for m in c.messages}.values()),
    ids=lambda m: m.code,
)
def test_every_message_checks_and_reads_well_with_a_full_context(message: Any) -> None:
    check_template(message.subject, "subject")
    check_template(message.body, "body")
    for channel in ("email", "sms", "push", "inbox"):
        r = render_channel(
            channel,
            subject=message.subject,
            body=message.body,
            link_label=message.link_label,
            image_url=None,
            context=CONTEXT,
            links=NO_LINKS,
        )
        assert r.text.strip()
        assert "{{" not in r.text and "{%" not in r.text
    email = render_channel(
        "email",
        subject=message.subject,
        body=message.body,
        link_label=message.link_label,
        image_url=None,
        context=CONTEXT,
        links=NO_LINKS,
    )
    assert "None" not in email.text and "Undefined" not in email.text


def text(code: str, context: dict[str, Any]) -> str:
    m = next(m for c in CLASSICS for m in c.messages if m.code == code)
    r = render_channel(
        "email",
        subject=m.subject,
        body=m.body,
        link_label=None,
        image_url=None,
        context=context,
        links=NO_LINKS,
    )
    return f"{r.title}\n{r.text}"


def test_the_copy_is_personal() -> None:
    back = text("classic-back-in-stock", CONTEXT)
    assert "It's back: Trail runner 2" in back
    assert "back in stock at London Oxford St (4 on the shelf right now)" in back
    assert "Hi Ada," in back
    drop = text("classic-price-drop-1", CONTEXT)
    assert "down from £79.00 to £59.00" in drop
    assert "use code WB-7Q2K" in text("classic-winback-1", CONTEXT)
    assert "your code is WB-7Q2K" in text("classic-birthday-1", CONTEXT)
    assert "You bought Oat milk before" in text("classic-care", CONTEXT)
    assert "1 x Trail runner 2" in text("classic-cart-1", CONTEXT)
    assert "Welcome to Gold!" in text("classic-tier-up", CONTEXT)
    # Without the facts: still sensible sentences.
    bare = text("classic-back-in-stock", {})
    assert "It's back: the item you wanted" in bare and "at your store." in bare
    assert "Hi," in bare
    assert "down from" not in text("classic-price-drop-1", {})


def test_messages_render_for_a_real_customer(container: Container) -> None:
    customer = make_customer(container, "Grace Hopper", email="grace@example.com", verified=True)
    with container.uow() as uow:
        for c in CLASSICS:
            for m in c.messages:
                if m.code not in {x.code for x in marketing.list_messages(uow)}:
                    marketing.create_message(uow, m)
    with container.read_uow() as uow:
        for c in CLASSICS:
            for m in c.messages:
                for channel in ("email", "sms", "push", "inbox", "store", "receipt"):
                    r = marketing.render_for(uow, m.code, customer, channel)
                    assert r.text.strip()
        welcome = marketing.render_for(uow, "classic-welcome-1", customer, "email")
    assert welcome.title == "Welcome, Grace, we're glad you're here"


def test_install_creates_messages_segment_promotion_and_the_draft(container: Container) -> None:
    with container.uow() as uow:
        journey = install_classic(uow, "win-back", actor="test", site_url="http://shop.test")
    with container.uow() as uow, pytest.raises(DomainError):
        install_classic(
            uow, "win-back", actor="test", site_url="http://shop.test"
        )  # the journey exists: nothing made twice
    with container.read_uow() as uow:
        codes = {m.code for m in marketing.list_messages(uow)}
        segments = [s for s in marketing.list_segments(uow) if s.name.startswith("Win-back")]
        promotion = pricing.get_promotion(uow, "CLASSIC-WINBACK-15")
        versions = marketing.versions(uow, "win-back")
    assert journey.code == "win-back" and journey.status == "draft"
    assert {"classic-winback-1", "classic-winback-2"} <= codes
    assert len(segments) == 1
    assert promotion.requires_coupon and promotion.effect["percent"] in (15, "15")
    assert len(versions) == 1
    assert versions[0].definition.trigger.segment_id == segments[0].id


def test_every_classic_installs_and_goes_live(container: Container) -> None:
    with container.uow() as uow:
        for c in CLASSICS:
            install_classic(uow, c.code, actor="test", site_url="http://shop.test")
            marketing.publish(uow, c.code, actor="test")
    with container.read_uow() as uow:
        live = {j.code: j.status for j in marketing.list_journeys(uow)}
        links = {m.code: m.link_url for m in marketing.list_messages(uow)}
    assert live == {c.code: "live" for c in CLASSICS}
    # every button links to a page of this site's shop, none to a placeholder
    assert links and all(str(url).startswith("http://shop.test/") for url in links.values())
    assert str(links["classic-cart-1"]) == "http://shop.test/shop/basket"
