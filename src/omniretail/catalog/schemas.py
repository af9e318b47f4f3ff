"""Pydantic I/O for the catalog, shared by the API, the CLI and the console."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Re-exported: other domains use the kinds through this public module.
from omniretail.catalog.models import ChannelKind as ChannelKind
from omniretail.catalog.models import LocationKind as LocationKind
from omniretail.kernel.limits import MAX_AMOUNT, JsonObject, Money, TimeZoneName, Tiny
from omniretail.kernel.money import CountryCode, CurrencyCode

Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=40),
]

# The channels a shopper buys on by themselves; the till's, the call centre's and the
# marketplaces' are staff's or a partner's.
SELF_SERVICE_KINDS = frozenset({ChannelKind.WEB.value, ChannelKind.APP.value})


class SkuCreate(BaseModel):
    code: Code
    name: str = Field(min_length=1, max_length=300)
    attributes: JsonObject = Field(default_factory=dict)
    price: Money | None = None


class ProductCreate(BaseModel):
    code: Code
    name: str = Field(min_length=1, max_length=300)
    category: str | None = Field(default=None, max_length=120)
    attributes: JsonObject = Field(default_factory=dict)
    skus: list[SkuCreate] = Field(default_factory=list, max_length=1000)


class SkuRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    product_code: str
    name: str
    attributes: dict[str, Any]
    price: Decimal | None
    active: bool


class ProductRead(BaseModel):
    code: str
    name: str
    category: str | None
    attributes: dict[str, Any]
    skus: list[SkuRead]


# The currency of a SKU's own catalog price, and of sales on a channel the catalog does not
# know (an imported history's, another till system's).
CATALOG_CURRENCY = "GBP"


class ChannelWrite(BaseModel):
    code: Code
    name: str = Field(min_length=1, max_length=120)
    kind: ChannelKind
    reservation_ttl_seconds: int = Field(default=900, gt=0, le=7 * 24 * 3600)
    atp_buffer: int = Field(default=0, ge=0, le=MAX_AMOUNT)
    location_codes: list[Code] = Field(default_factory=list, max_length=1000)
    currency: CurrencyCode = Field(default="GBP", description="ISO 4217 code it sells in")
    country: CountryCode = Field(default="GB", description="ISO 3166 code whose taxes apply")
    prices_include_tax: bool = Field(default=True, description="Prices are entered with tax")


class ChannelRead(BaseModel):
    code: str
    name: str
    kind: ChannelKind
    reservation_ttl_seconds: int
    atp_buffer: int
    location_codes: list[str]
    currency: str
    country: str
    prices_include_tax: bool


class Capabilities(BaseModel):
    ships_to_home: bool = False
    pickup: bool = False
    ship_to_store_target: bool = False
    accepts_returns: bool = False
    curbside: bool = Field(
        default=False, description="Hands click & collect orders over at the kerb (curbside)"
    )


class LocationWrite(BaseModel):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    kind: LocationKind
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    address: str = Field(default="", max_length=500)
    timezone: TimeZoneName = "Europe/London"
    opening_hours: dict[Tiny, Tiny] = Field(
        max_length=14,
        default_factory=dict,
        description='Per weekday, e.g. {"mon": "09:00-17:30", "sun": "closed"}',
    )
    capabilities: Capabilities = Field(default_factory=Capabilities)
    daily_capacity: int = Field(default=0, ge=0, le=MAX_AMOUNT)


class LocationRead(LocationWrite):
    active: bool
    channel_codes: list[str]
