"""Pricing errors: each carries its problem type, title and HTTP status."""

from __future__ import annotations

from omniretail.kernel.errors import Conflict, InvalidRequest, NotFound


class NoPrice(InvalidRequest):
    slug = "no-price"
    title = "The SKU has no price on this channel"


class NoTaxRate(Conflict):
    slug = "no-tax-rate"
    title = "No tax rate is in force for this tax class and country"


class UnknownPriceList(NotFound):
    slug = "unknown-price-list"
    title = "Unknown price list"


class UnknownPriceEntry(NotFound):
    slug = "unknown-price-entry"
    title = "The price list has no entry for this SKU"


class UnknownTaxClass(NotFound):
    slug = "unknown-tax-class"
    title = "Unknown tax class"


class UnknownTaxRate(NotFound):
    slug = "unknown-tax-rate"
    title = "Unknown tax rate"


class AmountTooPrecise(InvalidRequest):
    slug = "amount-too-precise"
    title = "The amount is finer than the currency's minor unit"


class PriceListInUse(Conflict):
    slug = "price-list-in-use"
    title = "The price list cannot be changed this way"


class UnknownPromotion(NotFound):
    slug = "unknown-promotion"
    title = "Unknown promotion"


class InvalidPromotion(InvalidRequest):
    slug = "invalid-promotion"
    title = "The promotion's condition or effect is not valid"


class UnknownCoupon(NotFound):
    slug = "unknown-coupon"
    title = "Unknown coupon code"


class CouponUnavailable(Conflict):
    slug = "coupon-unavailable"
    title = "The coupon cannot be used (expired, used up, over its budget or not yet valid)"


class CouponOfAnotherCustomer(CouponUnavailable):
    """A coupon issued to one customer on a cart checked out by another or anonymously (a
    till sale whose customer was taken off; the message never says whose it is). Applying
    such a code answers ``UnknownCoupon``, as a code that does not exist."""

    slug = "coupon-of-another-customer"
    title = "This coupon belongs to another customer"


class CouponExists(Conflict):
    slug = "coupon-exists"
    title = "A coupon with this code exists"


class UnknownFee(NotFound):
    slug = "unknown-fee"
    title = "The channel has no fee for this fulfilment method"


class FeeCurrencyMismatch(InvalidRequest):
    slug = "fee-currency-mismatch"
    title = "A fee is in its channel's currency"
