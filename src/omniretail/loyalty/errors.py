from __future__ import annotations

from omniretail.kernel.errors import Conflict, DomainError, InvalidRequest, NotFound


class InsufficientPoints(Conflict):
    slug = "insufficient-points"
    title = "Not enough points"


class NotEnrolled(NotFound):
    slug = "not-enrolled"
    title = "The customer is not in the loyalty programme"


class UnknownCoupon(NotFound):
    slug = "unknown-coupon"
    title = "Unknown coupon"


class CouponNotRedeemable(Conflict):
    slug = "coupon-not-redeemable"
    title = "The coupon cannot be redeemed"


class UnknownAction(InvalidRequest):
    slug = "unknown-action"
    title = "The programme has no points for this action"


class UnknownOrderEarn(NotFound):
    slug = "unknown-order-earn"
    title = "No points were earned for this order line"


class UnknownRedemption(NotFound):
    slug = "unknown-redemption"
    title = "Unknown redemption"


class RedemptionNotReversible(Conflict):
    slug = "redemption-not-reversible"
    title = "The redemption cannot be reversed"


class UnknownCouponPromotion(InvalidRequest):
    slug = "unknown-coupon-promotion"
    title = "The programme's coupon unlocks no known promotion"


class PresenceCodeRequired(DomainError):
    slug = "presence-code-required"
    title = "Staff spend a customer's points only with the code sent to the customer"
    status = 403


class PresenceNotProven(DomainError):
    slug = "presence-not-proven"
    title = "The code does not prove the customer is here for this sale"
    status = 403


class RedemptionReferenceTaken(Conflict):
    slug = "redemption-reference-taken"
    title = "The reference names another customer's redemption"


class GoodwillLimitReached(Conflict):
    """A person's goodwill credits of the day would pass ``loyalty_goodwill_points_per_day``
    (a stolen agent account minting points for an accomplice)."""

    slug = "goodwill-limit-reached"
    title = "Today's goodwill points limit is reached"


class CustomerGoodwillLimitReached(GoodwillLimitReached):
    """The goodwill credits one customer received today, from all staff together, would pass
    ``loyalty_goodwill_points_per_customer_per_day`` (colluding agents piling points on one
    accomplice)."""

    slug = "customer-goodwill-limit-reached"
    title = "Today's goodwill points limit for this customer is reached"
