"""Catalog events (``omniretail.catalog.*`` in the outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from omniretail.catalog.schemas import ChannelWrite, LocationWrite
from omniretail.kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class ProductCreated(Event):
    """A product and its SKUs were created (catalog API, history import)."""

    type: ClassVar[str] = "catalog.product_created"
    subject_template: ClassVar[str] = "products/{product}"
    product: str
    skus: list[str]


@dataclass(frozen=True, kw_only=True)
class ChannelSaved(Event):
    """A sales channel was created or changed; the fields are the channel as saved."""

    type: ClassVar[str] = "catalog.channel_saved"
    subject_template: ClassVar[str] = "channels/{code}"
    code: str
    name: str
    kind: str
    reservation_ttl_seconds: int
    atp_buffer: int
    location_codes: list[str]
    currency: str = "GBP"
    country: str = "GB"
    prices_include_tax: bool = True

    @classmethod
    def of(cls, data: ChannelWrite) -> ChannelSaved:
        return cls(**data.model_dump(mode="json"))


@dataclass(frozen=True, kw_only=True)
class LocationSaved(Event):
    """A store, warehouse or locker was created or changed; the fields are the location as
    saved (``capabilities`` holds the fulfilment flags)."""

    type: ClassVar[str] = "catalog.location_saved"
    subject_template: ClassVar[str] = "locations/{code}"
    code: str
    name: str
    kind: str
    latitude: float
    longitude: float
    address: str
    timezone: str
    opening_hours: dict[str, str]
    capabilities: dict[str, Any]
    daily_capacity: int

    @classmethod
    def of(cls, data: LocationWrite) -> LocationSaved:
        return cls(**data.model_dump(mode="json"))
