"""The retail classics, ready to switch on: each a ``JourneyDefinition`` with the messages it
sends (``journeys_classics_copy``), and for some a segment (win-back) or a coupon promotion
(win-back, birthday) it needs.

- ``welcome-series``: registered -> hello now, how to shop in 3 days, a first-order nudge
  after 10 days if they have not ordered
- ``abandoned-cart``: a line added to the cart. A customer has one cart across the web and
  the app (``carts``), so this one journey covers both; it exits on an order from any
  channel. The till cannot suspend or park a basket (its cart is anonymous and the customer
  is only looked up for the sale), so there is no till variant.
- ``browse-abandoned``: ``marketing.browse_abandoned`` (``triggers.browse_sweep``)
- ``back-in-stock``: ``marketing.back_in_stock``; sent only if still in stock at the
  customer's store (premise ``in_stock``)
- ``price-drop``: ``marketing.price_dropped``; premise ``price_lower``
- ``win-back``: entering the segment of lapsing customers (churn score ``p_alive`` low, no
  order for 60 days); a 15% coupon
- ``birthday-coupon``: the birthday at 09:00 local; a 10% coupon
- ``post-purchase-delivered`` / ``post-purchase-collected``: care tips, then a review request
- ``loyalty-tier-up``: ``loyalty.tier_changed`` to a higher tier of the programme

``install_classic`` creates what is missing (messages, segment, promotion) and the journey
as a draft (the marketer reviews and publishes it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import ProgrammeRules
from omniretail.marketing import journeys, messages, schemas
from omniretail.marketing import journeys_classics_copy as copy
from omniretail.marketing.errors import UnknownClassic
from omniretail.marketing.journeys_definition import JourneyDefinition
from omniretail.marketing.schemas import JourneyRead, MessageCreate, SegmentCreate
from omniretail.pricing import service as pricing
from omniretail.pricing.errors import UnknownPromotion
from omniretail.pricing.schemas import PromotionWrite

ORDER = "orders.order_confirmed"
WINBACK_RULE = (
    "orders > 0 && p_alive >= 0.0 && p_alive < 0.3 && days_since_last_order >= 60 && "
    '"marketing:email" in consent'
)
SEGMENT_PLACEHOLDER = 1


@dataclass(frozen=True)
class Promotion:
    code: str
    name: str
    percent: int


@dataclass(frozen=True)
class Classic:
    code: str
    name: str
    description: str
    # (the segment id, the loyalty programme) -> the definition as JSON-able data
    build: Callable[[int, ProgrammeRules], dict[str, Any]]
    messages: Sequence[MessageCreate]
    segment: SegmentCreate | None = None
    promotions: Sequence[Promotion] = field(default_factory=tuple)

    def definition(
        self, segment_id: int = SEGMENT_PLACEHOLDER, programme: ProgrammeRules | None = None
    ) -> JourneyDefinition:
        return JourneyDefinition.model_validate(
            self.build(segment_id, programme or ProgrammeRules())
        )


def _send(
    step_id: str, message: str, channel: str = "email", *, priority: int = 50, premise: str = "none"
) -> dict[str, Any]:
    return {
        "id": step_id,
        "kind": "send",
        "message": message,
        "channel": channel,
        "priority": priority,
        "premise": premise,
    }


def _wait(
    step_id: str, *, days: int = 0, hours: int = 0, until: str | None = None
) -> dict[str, Any]:
    return {"id": step_id, "kind": "wait", "days": days, "hours": hours, "until": until}


def _if(step_id: str, rule: str, *, otherwise: str = "done") -> dict[str, Any]:
    return {"id": step_id, "kind": "condition", "rule": rule, "otherwise": otherwise}


DONE = {"id": "done", "kind": "exit"}


def tier_up_condition(programme: ProgrammeRules) -> str:
    """CEL true when ``event.tier`` ranks above ``event.previous`` in the programme's tiers
    (listed from the lowest threshold up)."""
    names = [t.name for t in sorted(programme.tiers, key=lambda t: t.threshold)]
    parts = [
        f"(event.previous == {json.dumps(low)} && event.tier in {json.dumps(names[i + 1 :])})"
        for i, low in enumerate(names[:-1])
    ]
    return " || ".join(parts) or "false"


def _welcome(_s: int, _p: ProgrammeRules) -> dict[str, Any]:
    return {
        "trigger": {"kind": "event", "event": "customers.registered"},
        "reentry": "once",
        "goal": {"event": ORDER, "within_days": 14},
        "steps": [
            _send("hello", "classic-welcome-1", priority=70),
            _wait("settle", days=3, until="10:00"),
            _send("how-to-shop", "classic-welcome-2"),
            _wait("nudge-wait", days=7, until="10:00"),
            _if("no-order-yet", "orders == 0"),
            _send("first-order", "classic-welcome-3", "preferred"),
            DONE,
        ],
    }


def _cart(_s: int, _p: ProgrammeRules) -> dict[str, Any]:
    return {
        "trigger": {"kind": "event", "event": "orders.cart_line_added"},
        "exit_on": [ORDER],
        "goal": {"event": ORDER, "within_days": 7},
        "steps": [
            _wait("first-wait", hours=1),
            _if("still-carted", "has_cart"),
            _send("reminder", "classic-cart-1", priority=60),
            _wait("second-wait", days=1, until="18:00"),
            _if("still-carted-2", "has_cart"),
            _send("push-reminder", "classic-cart-2", "push", priority=55),
            _wait("third-wait", days=2, until="10:00"),
            _if("still-carted-3", "has_cart"),
            _send("last-call", "classic-cart-3", "preferred", priority=55),
            DONE,
        ],
    }


def _browse(_s: int, _p: ProgrammeRules) -> dict[str, Any]:
    return {
        "trigger": {"kind": "event", "event": "marketing.browse_abandoned"},
        "exit_on": [ORDER, "orders.cart_line_added"],
        "goal": {"event": ORDER, "within_days": 5},
        "steps": [
            _wait("evening", hours=2, until="18:00"),
            _send("nudge", "classic-browse-1", priority=30),
        ],
    }


def _back_in_stock(_s: int, _p: ProgrammeRules) -> dict[str, Any]:
    return {
        "trigger": {"kind": "event", "event": "marketing.back_in_stock"},
        "goal": {"event": ORDER, "within_days": 3},
        "steps": [
            _send("tell", "classic-back-in-stock", "preferred", priority=90, premise="in_stock")
        ],
    }


def _price_drop(_s: int, _p: ProgrammeRules) -> dict[str, Any]:
    return {
        "trigger": {"kind": "event", "event": "marketing.price_dropped"},
        "exit_on": [ORDER],
        "goal": {"event": ORDER, "within_days": 7},
        "steps": [
            _wait("settle", hours=1),
            _send("tell", "classic-price-drop-1", priority=70, premise="price_lower"),
            _wait("later", days=2, until="18:00"),
            _if("carted", "has_cart"),
            _send("remind", "classic-price-drop-2", "push", priority=50, premise="price_lower"),
            DONE,
        ],
    }


def _win_back(segment_id: int, _p: ProgrammeRules) -> dict[str, Any]:
    return {
        "trigger": {"kind": "segment_entered", "segment_id": segment_id},
        "exit_on": [ORDER],
        "goal": {"event": ORDER, "within_days": 30},
        "holdout_percent": 10,
        "steps": [
            {"id": "coupon", "kind": "coupon", "promotion": "CLASSIC-WINBACK-15", "valid_days": 30},
            _send("offer", "classic-winback-1", priority=60),
            _wait("reminder-wait", days=23, until="10:00"),
            _if("still-away", "days_since_last_order >= 60"),
            _send("reminder", "classic-winback-2", "preferred", priority=55),
            DONE,
        ],
    }


def _birthday(_s: int, _p: ProgrammeRules) -> dict[str, Any]:
    return {
        "trigger": {"kind": "date", "field": "birthday", "days_before": 0, "at": "09:00"},
        "goal": {"event": ORDER, "within_days": 30},
        "steps": [
            {
                "id": "coupon",
                "kind": "coupon",
                "promotion": "CLASSIC-BIRTHDAY-10",
                "valid_days": 30,
            },
            _send("greeting", "classic-birthday-1", priority=80),
            _wait("reminder-wait", days=20, until="10:00"),
            _if("not-used", "days_since_last_order == -1 || days_since_last_order > 20"),
            _send("reminder", "classic-birthday-2", "preferred", priority=50),
            DONE,
        ],
    }


def _post_purchase(event: str) -> Callable[[int, ProgrammeRules], dict[str, Any]]:
    def build(_s: int, _p: ProgrammeRules) -> dict[str, Any]:
        return {
            "trigger": {"kind": "event", "event": event},
            "goal": {"event": ORDER, "within_days": 30},
            "steps": [
                _wait("settle", days=2, until="10:00"),
                _send("care", "classic-care", priority=40),
                _wait("review-wait", days=12, until="10:00"),
                _send("review", "classic-review", priority=30),
            ],
        }

    return build


def _tier_up(_s: int, programme: ProgrammeRules) -> dict[str, Any]:
    return {
        "trigger": {
            "kind": "event",
            "event": "loyalty.tier_changed",
            "condition": tier_up_condition(programme),
        },
        "goal": {"event": ORDER, "within_days": 30},
        "steps": [_send("congratulate", "classic-tier-up", "preferred", priority=70)],
    }


CLASSICS: tuple[Classic, ...] = (
    Classic(
        "welcome-series",
        "Welcome series",
        "Three messages over ten days after registration; the last only without an order.",
        _welcome,
        copy.WELCOME,
    ),
    Classic(
        "abandoned-cart",
        "Abandoned cart (web and app)",
        "Up to three reminders while the cart still has lines; ends on any order.",
        _cart,
        copy.ABANDONED_CART,
    ),
    Classic(
        "browse-abandoned",
        "Browse abandonment",
        "A nudge about a product viewed but neither carted nor bought.",
        _browse,
        copy.BROWSE,
    ),
    Classic(
        "back-in-stock",
        "Back in stock at your store",
        "Tells the customer who asked, if it is still on the shelf at send time.",
        _back_in_stock,
        copy.BACK_IN_STOCK,
    ),
    Classic(
        "price-drop",
        "Price drop",
        "A lower price on a product in the cart or viewed lately, if still lower at send time.",
        _price_drop,
        copy.PRICE_DROP,
    ),
    Classic(
        "win-back",
        "Win-back (churn score)",
        "Lapsing customers (low p_alive, 60 days without an order) get 15% off; 10% holdout.",
        _win_back,
        copy.WIN_BACK,
        segment=SegmentCreate(
            name="Win-back: lapsing customers",
            description="Churn score p_alive below 0.3 and no order for 60 days (classic).",
            rule=WINBACK_RULE,
        ),
        promotions=(Promotion("CLASSIC-WINBACK-15", "We've missed you: 15% off", 15),),
    ),
    Classic(
        "birthday-coupon",
        "Birthday coupon",
        "10% off on the birthday at 09:00 local, a reminder after 20 days.",
        _birthday,
        copy.BIRTHDAY,
        promotions=(Promotion("CLASSIC-BIRTHDAY-10", "Happy birthday: 10% off", 10),),
    ),
    Classic(
        "post-purchase-delivered",
        "Post-purchase care and review (delivered)",
        "Care tips two days after delivery, a review request two weeks later.",
        _post_purchase("orders.delivered"),
        copy.POST_PURCHASE,
    ),
    Classic(
        "post-purchase-collected",
        "Post-purchase care and review (collected)",
        "Care tips two days after collection, a review request two weeks later.",
        _post_purchase("orders.collected"),
        copy.POST_PURCHASE,
    ),
    Classic(
        "loyalty-tier-up",
        "Loyalty tier up",
        "Congratulations when the customer reaches a higher tier.",
        _tier_up,
        copy.TIER_UP,
    ),
)


def classic(code: str) -> Classic:
    for c in CLASSICS:
        if c.code == code:
            return c
    raise UnknownClassic(f"no classic journey {code!r}", field="code")


def classic_definitions() -> dict[str, JourneyDefinition]:
    """Every classic's definition (the win-back segment as a placeholder id, the default
    loyalty tiers)."""
    return {c.code: c.definition() for c in CLASSICS}


def _segment_id(uow: UnitOfWork, spec: SegmentCreate) -> int:
    from omniretail.marketing import segments

    found = next((s for s in segments.list_segments(uow) if s.name == spec.name), None)
    return (found or segments.create_segment(uow, spec)).id


def _promotion(uow: UnitOfWork, promotion: Promotion, actor: str) -> None:
    try:
        pricing.get_promotion(uow, promotion.code)
    except UnknownPromotion:
        pricing.save_promotion(
            uow,
            promotion.code,
            PromotionWrite.model_validate(
                {
                    "name": promotion.name,
                    "effect": {"type": "order_percent_off", "percent": Decimal(promotion.percent)},
                    "requires_coupon": True,
                }
            ),
            actor=actor,
        )


def install_classic(uow: UnitOfWork, code: str, *, actor: str, site_url: str) -> JourneyRead:
    """The classic as a draft journey (``code`` is the journey's code), with its missing
    messages, segment and coupon promotions. The messages' buttons link to the shop's pages at
    ``site_url`` (``public_base_url``)."""

    spec = classic(code)
    existing = {m.code for m in messages.list_messages(uow)}
    for message in spec.messages:
        if message.code not in existing:
            messages.create_message(uow, copy.on_site(message, site_url))
    for promotion in spec.promotions:
        _promotion(uow, promotion, actor)
    segment_id = _segment_id(uow, spec.segment) if spec.segment else SEGMENT_PLACEHOLDER
    definition = spec.definition(segment_id, loyalty.rules(uow))
    journeys.create_journey(
        uow,
        schemas.JourneyCreate(
            code=spec.code, name=spec.name, description=spec.description, definition=definition
        ),
        actor=actor,
    )
    return journeys.get_journey(uow, spec.code)
