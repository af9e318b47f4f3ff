"""Pricing tables: price lists and their entries, tax classes and rates, each product's tax
class (a product without a row is ``standard``), delivery and pickup fees."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK

STANDARD = "standard"
# The list each channel's own prices live in (``PUT /prices/{sku}/{channel}``).
CHANNEL_LIST_PREFIX = "CHANNEL:"


class PriceList(Base):
    """Prices in one currency, for a scope (any of channel, store, loyalty tier, customer
    segment; none: everyone), in force from ``valid_from`` until ``valid_to``."""

    __tablename__ = "price_lists"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))
    priority: Mapped[int] = mapped_column(default=0)
    channel_code: Mapped[str | None] = mapped_column(ForeignKey("channels.code"))
    location_code: Mapped[str | None] = mapped_column(ForeignKey("locations.code"))
    customer_tier: Mapped[str | None] = mapped_column(String(40))
    customer_segment: Mapped[str | None] = mapped_column(String(60))
    valid_from: Mapped[datetime | None]
    valid_to: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from", name="window"
        ),
        CheckConstraint("priority BETWEEN -1000000 AND 1000000", name="priority_range"),
        Index("ix_price_lists_currency_active", "currency", "active"),
    )


class PriceListEntry(Base):
    __tablename__ = "price_list_entries"

    list_code: Mapped[str] = mapped_column(ForeignKey("price_lists.code"), primary_key=True)
    sku_code: Mapped[str] = mapped_column(ForeignKey("skus.code"), primary_key=True, index=True)
    price: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    updated_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("price >= 0", name="price_not_negative"),)


class TaxClass(Base):
    __tablename__ = "tax_classes"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class TaxRate(Base):
    """The rate of a tax class in a country from ``valid_from`` (until ``valid_to``)."""

    __tablename__ = "tax_rates"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    country: Mapped[str] = mapped_column(String(2))
    tax_class: Mapped[str] = mapped_column(ForeignKey("tax_classes.code"))
    name: Mapped[str] = mapped_column(String(60))
    rate: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("country", "tax_class", "valid_from"),
        CheckConstraint("rate >= 0 AND rate < 1", name="rate_range"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="window"),
    )


class ProductTaxClass(Base):
    __tablename__ = "product_tax_classes"

    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"), primary_key=True)
    tax_class: Mapped[str] = mapped_column(ForeignKey("tax_classes.code"))


class Promotion(Base):
    """Conditions (a CEL expression over the cart, ``promotion_rules``) + an effect (JSON) +
    a window, a priority and whether it stacks. ``requires_coupon``: only a coupon of it
    unlocks it. ``currency``: amounts in the effect are in it; it applies only there."""

    __tablename__ = "promotions"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    condition: Mapped[str | None] = mapped_column(Text)
    effect: Mapped[dict[str, Any]]
    currency: Mapped[str | None] = mapped_column(String(3))
    priority: Mapped[int] = mapped_column(default=0)
    exclusive: Mapped[bool] = mapped_column(default=False)
    requires_coupon: Mapped[bool] = mapped_column(default=False)
    valid_from: Mapped[datetime | None]
    valid_to: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from", name="window"
        ),
        CheckConstraint("priority BETWEEN -1000000 AND 1000000", name="priority_range"),
        Index("ix_promotions_active", "active"),
    )


class PricingStamp(Base):
    """A random stamp per set of rows pricing keeps in process (``promotions``): triggers on
    those tables give it a new value on every write, so each process sees with one read
    whether its copy is current (``promotion_index``)."""

    __tablename__ = "pricing_stamps"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)


class Coupon(Base):
    """A code unlocking a promotion; ``uses`` and ``spent`` only move by a conditional
    UPDATE at checkout, so ``max_uses`` and ``budget`` hold under concurrency.
    ``customer_id``: the customer it was issued to (a birthday or welcome coupon), whose
    profiles alone may use it; None: anyone holding the code."""

    __tablename__ = "coupons"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    promotion_code: Mapped[str] = mapped_column(ForeignKey("promotions.code"), index=True)
    batch: Mapped[str | None] = mapped_column(String(60), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    max_uses: Mapped[int | None]
    per_customer: Mapped[int | None]
    uses: Mapped[int] = mapped_column(default=0)
    budget: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    spent: Mapped[Decimal] = mapped_column(Numeric(14, 3), default=Decimal(0))
    valid_from: Mapped[datetime | None]
    valid_to: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)", name="uses"),
        CheckConstraint("spent >= 0 AND (budget IS NULL OR spent <= budget)", name="budget"),
        CheckConstraint("per_customer IS NULL OR per_customer > 0", name="per_customer"),
    )


class CouponRedemption(Base):
    """One use of a coupon by an order; ``returned_at`` once a cancellation gave it back."""

    __tablename__ = "coupon_redemptions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    coupon_code: Mapped[str] = mapped_column(ForeignKey("coupons.code"))
    order_number: Mapped[str] = mapped_column(String(40), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    redeemed_at: Mapped[datetime]
    returned_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("coupon_code", "order_number"),
        Index("ix_coupon_redemptions_coupon_customer", "coupon_code", "customer_id"),
    )


class Fee(Base):
    """What a fulfilment method costs on a channel (``pricing.fees``): ``amount`` entered like
    the channel's prices, taxed at ``tax_class``; nothing once the lines reach ``free_over``."""

    __tablename__ = "fees"

    channel_code: Mapped[str] = mapped_column(ForeignKey("channels.code"), primary_key=True)
    method: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    free_over: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    tax_class: Mapped[str] = mapped_column(ForeignKey("tax_classes.code"))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("free_over IS NULL OR free_over > 0", name="free_over_positive"),
    )
