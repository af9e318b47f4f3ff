"""Pydantic I/O for price lists, taxes and quotes (API, console, other packages)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

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


class AdjustmentRead(BaseModel):
    name: str
    amount: Decimal
    source: str


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
    net: Decimal
    tax: Decimal
    gross: Decimal
