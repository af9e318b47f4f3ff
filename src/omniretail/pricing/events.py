"""Pricing events (``omniretail.pricing.*`` in the outbox): every change of a price list,
an entry, a tax class or rate, with who made it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omniretail.kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class PriceListSaved(Event):
    """A price list was created or changed (its scope, priority, window or state)."""

    type: ClassVar[str] = "pricing.price_list_saved"
    subject_template: ClassVar[str] = "price-lists/{code}"
    code: str
    currency: str
    priority: int
    channel: str | None
    valid_from: str | None
    valid_to: str | None
    active: bool
    actor: str


@dataclass(frozen=True, kw_only=True)
class PriceListDeleted(Event):
    """A price list and its entries were deleted."""

    type: ClassVar[str] = "pricing.price_list_deleted"
    subject_template: ClassVar[str] = "price-lists/{code}"
    code: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class PriceEntrySaved(Event):
    """A SKU's price in a list was set (``price``: a decimal string)."""

    type: ClassVar[str] = "pricing.price_entry_saved"
    subject_template: ClassVar[str] = "price-lists/{price_list}/{sku}"
    price_list: str
    sku: str
    price: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class PriceEntryRemoved(Event):
    """A SKU's entry was removed from a list."""

    type: ClassVar[str] = "pricing.price_entry_removed"
    subject_template: ClassVar[str] = "price-lists/{price_list}/{sku}"
    price_list: str
    sku: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class TaxSettingChanged(Event):
    """A tax class, a tax rate or a product's tax class was created, changed or deleted
    (``what``: ``tax_class``, ``tax_rate`` or ``product_tax_class``; ``key`` names it)."""

    type: ClassVar[str] = "pricing.tax_setting_changed"
    subject_template: ClassVar[str] = "taxes/{what}/{key}"
    what: str
    key: str
    change: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class FeeSaved(Event):
    """A channel's fee for a fulfilment method was set (amounts: decimal strings)."""

    type: ClassVar[str] = "pricing.fee_saved"
    subject_template: ClassVar[str] = "fees/{channel}/{method}"
    channel: str
    method: str
    amount: str
    free_over: str | None
    currency: str
    active: bool
    actor: str


@dataclass(frozen=True, kw_only=True)
class FeeDeleted(Event):
    """A channel's fee for a fulfilment method was removed (the method is free there)."""

    type: ClassVar[str] = "pricing.fee_deleted"
    subject_template: ClassVar[str] = "fees/{channel}/{method}"
    channel: str
    method: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class PromotionSaved(Event):
    """A promotion was created or changed (``created``: it is new)."""

    type: ClassVar[str] = "pricing.promotion_saved"
    subject_template: ClassVar[str] = "promotions/{code}"
    code: str
    name: str
    effect_type: str
    priority: int
    exclusive: bool
    requires_coupon: bool
    valid_from: str | None
    valid_to: str | None
    active: bool
    created: bool
    actor: str


@dataclass(frozen=True, kw_only=True)
class PromotionPaused(Event):
    """A promotion was paused: it stops applying until it is resumed."""

    type: ClassVar[str] = "pricing.promotion_paused"
    subject_template: ClassVar[str] = "promotions/{code}"
    code: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class PromotionResumed(Event):
    """A paused promotion applies again (within its window)."""

    type: ClassVar[str] = "pricing.promotion_resumed"
    subject_template: ClassVar[str] = "promotions/{code}"
    code: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class PromotionDeleted(Event):
    """A promotion without coupons was deleted."""

    type: ClassVar[str] = "pricing.promotion_deleted"
    subject_template: ClassVar[str] = "promotions/{code}"
    code: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class CouponsCreated(Event):
    """Coupons were made for a promotion: one shared ``code``, or ``count`` codes of a bulk
    ``batch`` (the codes themselves are in the batch's CSV, not in the event)."""

    type: ClassVar[str] = "pricing.coupons_created"
    subject_template: ClassVar[str] = "promotions/{promotion}/coupons"
    promotion: str
    code: str | None
    batch: str | None
    count: int
    max_uses: int | None
    actor: str
    customer_id: int | None = None  # the one customer who may use the code


@dataclass(frozen=True, kw_only=True)
class CouponStateChanged(Event):
    """A coupon was deactivated (``active`` false) or reactivated."""

    type: ClassVar[str] = "pricing.coupon_state_changed"
    subject_template: ClassVar[str] = "coupons/{code}"
    code: str
    active: bool
    actor: str


@dataclass(frozen=True, kw_only=True)
class CouponDeleted(Event):
    """An unused coupon was deleted."""

    type: ClassVar[str] = "pricing.coupon_deleted"
    subject_template: ClassVar[str] = "coupons/{code}"
    code: str
    actor: str
