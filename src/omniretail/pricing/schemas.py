"""Pydantic I/O for price lists, taxes and quotes (API, console, other packages)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from omniretail.catalog.schemas import Code
from omniretail.kernel.limits import MAX_MONEY, Id, Timestamp
from omniretail.kernel.money import CountryCode, CurrencyCode

ListCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        min_length=1,
        max_length=60,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
    ),
]
TaxClassCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=20, pattern=r"^[a-z0-9_-]+$"
    ),
]
Scope = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
SegmentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
# The fulfilment methods a fee is set for: routing's ``FulfilmentMethod`` values (routing is
# pricing's sibling layer, so the names are repeated here; a test keeps them equal).
FeeMethod = Literal["ship_to_home", "pickup_in_store", "ship_to_store", "locker", "curbside"]
# Entered prices: up to three decimals (BHD, KWD); each must fit the list's currency.
UnitPrice = Annotated[Decimal, Field(ge=0, le=MAX_MONEY, max_digits=13, decimal_places=3)]
TaxRateValue = Annotated[Decimal, Field(ge=0, lt=1, max_digits=5, decimal_places=4)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Window(_In):
    @model_validator(mode="after")
    def _ordered(self) -> _Window:
        start, end = getattr(self, "valid_from", None), getattr(self, "valid_to", None)
        if start is not None and end is not None and end <= start:
            raise ValueError("valid_to must be after valid_from")
        return self


class PriceListWrite(_Window):
    name: str = Field(min_length=1, max_length=120)
    currency: CurrencyCode
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    channel: Code | None = Field(default=None, description="Only on this channel")
    location: Code | None = Field(default=None, description="Only at this store")
    customer_tier: Scope | None = Field(default=None, description="Only for this loyalty tier")
    customer_segment: SegmentName | None = Field(
        default=None, description="Only for customers in this segment"
    )
    valid_from: Timestamp | None = Field(default=None, description="In force from (inclusive)")
    valid_to: Timestamp | None = Field(default=None, description="In force until (exclusive)")
    active: bool = True


class PriceListRead(BaseModel):
    code: str
    name: str
    currency: str
    priority: int
    channel: str | None
    location: str | None
    customer_tier: str | None
    customer_segment: str | None
    valid_from: datetime | None
    valid_to: datetime | None
    active: bool
    entries: int
    created_at: datetime
    updated_at: datetime


class PriceEntryWrite(_In):
    price: UnitPrice


class PriceEntryRead(BaseModel):
    price_list: str
    sku: str
    price: Decimal
    updated_at: datetime


class TaxClassWrite(_In):
    name: str = Field(min_length=1, max_length=120)


class TaxClassRead(BaseModel):
    code: str
    name: str


class TaxRateWrite(_Window):
    country: CountryCode
    tax_class: TaxClassCode
    name: str = Field(min_length=1, max_length=60, description='e.g. "VAT standard"')
    rate: TaxRateValue = Field(description="0.2 for 20 %")
    valid_from: Timestamp
    valid_to: Timestamp | None = None


class TaxRateRead(BaseModel):
    id: int
    country: str
    tax_class: str
    name: str
    rate: Decimal
    valid_from: datetime
    valid_to: datetime | None


class ProductTaxClassWrite(_In):
    tax_class: TaxClassCode


class ProductTaxClassRead(BaseModel):
    product: str
    tax_class: str


class QuoteLine(_In):
    sku: Code
    quantity: int = Field(gt=0, le=999, strict=True)


class QuoteRequest(_In):
    channel: Code
    lines: list[QuoteLine] = Field(min_length=1, max_length=200)
    customer_id: Id | None = None
    customer_tier: Scope | None = None
    customer_segments: list[SegmentName] = Field(default_factory=list, max_length=20)
    location: Code | None = Field(default=None, description="The store selling")
    country: CountryCode | None = Field(default=None, description="Default: the channel's")
    at: Timestamp | None = Field(default=None, description="Default: now")
    coupons: list[CouponCode] = Field(default_factory=list, max_length=5)
    method: FeeMethod | None = Field(
        default=None, description="The fulfilment method: its fee is priced too"
    )


class AdjustmentRead(BaseModel):
    name: str
    amount: Decimal
    source: str
    points: int = 0
    note: str | None = None


class PricedLineRead(BaseModel):
    sku: str
    name: str | None
    quantity: int
    unit_price: Decimal | None
    price_list: str | None = Field(description="Why this price: the list it came from")
    price_list_name: str | None
    adjustments: list[AdjustmentRead]
    tax_class: str
    tax_name: str | None
    tax_rate: Decimal | None
    net: Decimal | None
    tax: Decimal | None
    gross: Decimal | None


class QuoteRead(BaseModel):
    channel: str
    currency: str
    country: str
    prices_include_tax: bool
    at: datetime
    lines: list[PricedLineRead]
    adjustments: list[AdjustmentRead]
    fee: PricedFeeRead | None = Field(default=None, description="The chosen method's fee")
    net: Decimal
    tax: Decimal
    gross: Decimal


class FeeWrite(_In):
    name: str = Field(min_length=1, max_length=120, description='e.g. "Home delivery"')
    currency: CurrencyCode = Field(description="The channel's currency")
    amount: UnitPrice = Field(description="Entered like the channel's prices (with or without tax)")
    free_over: Amount | None = Field(
        default=None, description="No fee once the lines' total with tax reaches this"
    )
    tax_class: TaxClassCode = "standard"
    active: bool = True


class FeeRead(BaseModel):
    channel: str
    method: str
    name: str
    currency: str
    amount: Decimal
    free_over: Decimal | None
    tax_class: str
    active: bool
    updated_at: datetime


class PricedFeeRead(BaseModel):
    """The fee of the chosen method as charged: ``amount`` before waivers."""

    method: str
    name: str
    amount: Decimal
    adjustments: list[AdjustmentRead]
    tax_class: str
    tax_name: str
    tax_rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


# --- promotions and coupons (``promotion_rules`` documents conditions and effects)

CouponCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        min_length=3,
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
    ),
]
Percent = Annotated[Decimal, Field(gt=0, le=100, max_digits=6, decimal_places=3)]
Amount = Annotated[Decimal, Field(gt=0, le=MAX_MONEY, max_digits=13, decimal_places=3)]
SkuSet = Annotated[list[Code], Field(max_length=500)]
CategorySet = Annotated[
    list[Annotated[str, StringConstraints(max_length=120)]], Field(max_length=100)
]


class _Items(_In):
    skus: SkuSet | None = None
    categories: CategorySet | None = None


class PercentOff(_Items):
    type: Literal["percent_off"]
    percent: Percent


class AmountOff(_Items):
    type: Literal["amount_off"]
    amount: Amount = Field(description="Off each unit")


class FixedPrice(_Items):
    type: Literal["fixed_price"]
    price: UnitPrice = Field(description="Each unit's price")


class BuyXGetY(_Items):
    type: Literal["buy_x_get_y"]
    buy: int = Field(ge=1, le=100)
    get: int = Field(ge=1, le=100)
    percent: Percent = Field(default=Decimal(100), description="100: the cheapest free")
    max_applications: int | None = Field(default=None, ge=1, le=1000)


class BundleComponent(_Items):
    quantity: int = Field(ge=1, le=100, description="Units of these items in each bundle")


class Bundle(_Items):
    type: Literal["bundle"]
    components: list[BundleComponent] = Field(
        min_length=1,
        max_length=10,
        description='"any 3 of these": one component of 3; "A + B together": two of 1',
    )
    price: UnitPrice = Field(description="What one bundle costs")
    pick: Literal["dearest", "cheapest"] = Field(
        default="dearest", description="Which eligible units form the bundles first"
    )
    max_applications: int | None = Field(default=None, ge=1, le=1000)

    @model_validator(mode="after")
    def _more_than_one_unit(self) -> Bundle:
        if sum(c.quantity for c in self.components) < 2:
            raise ValueError("a bundle has at least two units")
        return self


class OrderPercentOff(_In):
    type: Literal["order_percent_off"]
    percent: Percent


class OrderAmountOff(_In):
    type: Literal["order_amount_off"]
    amount: Amount


class Tier(_In):
    threshold: Amount
    amount: Amount | None = None
    percent: Percent | None = None

    @model_validator(mode="after")
    def _one(self) -> Tier:
        if (self.amount is None) == (self.percent is None):
            raise ValueError("a tier gives either an amount or a percent off")
        return self


class Tiered(_In):
    type: Literal["tiered"]
    tiers: list[Tier] = Field(min_length=1, max_length=20)


class FreeDelivery(_In):
    type: Literal["free_delivery"]
    methods: list[FeeMethod] | None = Field(
        default=None, max_length=10, description="Waive only these methods' fee (none: any)"
    )


class ExtraPoints(_In):
    type: Literal["points"]
    points: int = Field(ge=1, le=1_000_000)


Effect = Annotated[
    PercentOff
    | AmountOff
    | FixedPrice
    | BuyXGetY
    | Bundle
    | OrderPercentOff
    | OrderAmountOff
    | Tiered
    | FreeDelivery
    | ExtraPoints,
    Field(discriminator="type"),
]
MONEY_EFFECTS = ("amount_off", "fixed_price", "bundle", "order_amount_off", "tiered")


class PromotionWrite(_Window):
    name: str = Field(min_length=1, max_length=120, description="What the customer reads")
    condition: str | None = Field(default=None, max_length=4000, description="CEL; none: always")
    effect: Effect
    currency: CurrencyCode | None = Field(
        default=None, description="Needed by amount effects; the promotion applies only in it"
    )
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    exclusive: bool = False
    requires_coupon: bool = False
    valid_from: Timestamp | None = None
    valid_to: Timestamp | None = None
    active: bool = True

    @model_validator(mode="after")
    def _currency(self) -> PromotionWrite:
        if self.effect.type in MONEY_EFFECTS and self.currency is None:
            raise ValueError(f"a {self.effect.type} effect needs a currency")
        return self


class PromotionRead(BaseModel):
    code: str
    name: str
    condition: str | None
    effect: dict[str, Any]
    currency: str | None
    priority: int
    exclusive: bool
    requires_coupon: bool
    valid_from: datetime | None
    valid_to: datetime | None
    active: bool
    created_at: datetime
    updated_at: datetime


class _CouponLimits(_Window):
    max_uses: int | None = Field(default=None, ge=1, le=100_000_000)
    per_customer: int | None = Field(default=None, ge=1, le=1000)
    budget: Amount | None = Field(default=None, description="Money the coupon may give away")
    valid_from: Timestamp | None = None
    valid_to: Timestamp | None = None
    active: bool = True


class CouponWrite(_CouponLimits):
    code: CouponCode
    promotion: ListCode
    customer_id: Id | None = Field(
        default=None, description="Only this customer (any of their profiles) may use it"
    )


class CouponBatchWrite(_CouponLimits):
    promotion: ListCode
    batch: ListCode
    count: int = Field(ge=1, le=10_000)
    prefix: Annotated[
        str, StringConstraints(to_upper=True, max_length=10, pattern=r"^[A-Za-z0-9]{0,10}$")
    ] = ""
    max_uses: int | None = Field(default=1, ge=1, le=100_000_000)


class CouponRead(BaseModel):
    code: str
    promotion: str
    batch: str | None
    customer_id: int | None = Field(description="The one customer who may use it (None: anyone)")
    max_uses: int | None
    per_customer: int | None
    uses: int
    budget: Decimal | None
    spent: Decimal
    valid_from: datetime | None
    valid_to: datetime | None
    active: bool
    created_at: datetime


class CouponBatchRead(BaseModel):
    batch: str
    count: int
    coupons: list[CouponRead]


class CouponApply(_In):
    code: CouponCode


class CouponRedemptionRead(BaseModel):
    """One use of a coupon by an order; ``returned_at`` once a cancellation gave it back."""

    coupon: str
    order_number: str
    customer_id: int | None
    amount: Decimal = Field(description="The money off the order")
    redeemed_at: datetime
    returned_at: datetime | None
