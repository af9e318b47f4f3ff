"""Loyalty events (``omniretail.loyalty.*`` in the outbox); ids and numbers only.

Every event's subject is ``loyalty/<customer_id>`` and its data carries ``customer_id`` (0 for
events about no one in particular: a programme version, a coupon for anyone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omniretail.kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class LoyaltyEvent(Event):
    """Base of the loyalty events: about one customer's account."""

    subject_template: ClassVar[str] = "loyalty/{customer_id}"
    customer_id: int


@dataclass(frozen=True, kw_only=True)
class ProgrammeSaved(LoyaltyEvent):
    """A new version of the programme rules was saved (``customer_id`` is 0)."""

    type: ClassVar[str] = "loyalty.programme_saved"
    version: int


@dataclass(frozen=True, kw_only=True)
class Enrolled(LoyaltyEvent):
    """A customer got a loyalty account (enrolment, or their first earn or reward)."""

    type: ClassVar[str] = "loyalty.enrolled"


@dataclass(frozen=True, kw_only=True)
class Earned(LoyaltyEvent):
    """An order earned points, pending until its return window closes."""

    type: ClassVar[str] = "loyalty.earned"
    points: int
    order: str


@dataclass(frozen=True, kw_only=True)
class ClawedBack(LoyaltyEvent):
    """Points of a cancelled or returned line were taken back (``owed``: what the account
    could not pay back yet)."""

    type: ClassVar[str] = "loyalty.clawed_back"
    points: int
    order: str
    owed: int


@dataclass(frozen=True, kw_only=True)
class Redeemed(LoyaltyEvent):
    """Points were spent in a channel."""

    type: ClassVar[str] = "loyalty.redeemed"
    points: int
    redemption_id: str
    channel: str


@dataclass(frozen=True, kw_only=True)
class RedemptionReversed(LoyaltyEvent):
    """A redemption was reversed: its points are back in their lots."""

    type: ClassVar[str] = "loyalty.redemption_reversed"
    redemption_id: str


@dataclass(frozen=True, kw_only=True)
class Rewarded(LoyaltyEvent):
    """Points were given for an action, a welcome, a birthday or an adjustment."""

    type: ClassVar[str] = "loyalty.rewarded"
    points: int
    reward: str


@dataclass(frozen=True, kw_only=True)
class Expired(LoyaltyEvent):
    """A lot's remaining points expired."""

    type: ClassVar[str] = "loyalty.expired"
    points: int
    lot_id: int


@dataclass(frozen=True, kw_only=True)
class TierChanged(LoyaltyEvent):
    """Qualifying spend moved the customer to another tier."""

    type: ClassVar[str] = "loyalty.tier_changed"
    previous: str
    tier: str


@dataclass(frozen=True, kw_only=True)
class CouponIssued(LoyaltyEvent):
    """A coupon was issued (``customer_id`` 0: a coupon for anyone). A programme's pricing
    coupon (birthday, welcome) names the ``promotion`` it unlocks and its end (ISO 8601);
    a loyalty coupon leaves both empty."""

    type: ClassVar[str] = "loyalty.coupon_issued"
    code: str
    kind: str
    promotion: str = ""
    valid_until: str = ""


@dataclass(frozen=True, kw_only=True)
class CouponRedeemed(LoyaltyEvent):
    """A coupon was used, once, in a channel."""

    type: ClassVar[str] = "loyalty.coupon_redeemed"
    code: str
    channel: str
    actor: str
