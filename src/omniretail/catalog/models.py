"""Catalog tables. Codes are the natural keys: every other domain refers to a SKU or a
location by its code, so hot paths (reserve, ATP) need no id look-up."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Numeric,
    String,
    and_,
    false,
    or_,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base


class ChannelKind(StrEnum):
    WEB = "web"
    APP = "app"
    STORE_POS = "store_pos"
    MARKETPLACE = "marketplace"
    SOCIAL = "social"
    CALL_CENTRE = "call_centre"


class LocationKind(StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"
    LOCKER = "locker"
    CURBSIDE = "curbside"


class Product(Base):
    __tablename__ = "products"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(120))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class Sku(Base):
    __tablename__ = "skus"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),)

    @classmethod
    def matching(cls, query: str) -> ColumnElement[bool]:
        """Every word of ``query`` in the name, or a code starting with it (the shop's and
        HQ's search)."""
        words = [_like_escaped(w) for w in query.split()[:8]]
        in_name = and_(*(cls.name.ilike(f"%{w}%", escape="\\") for w in words))
        return or_(in_name, cls.code.startswith(query.strip().upper(), autoescape=True))


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Channel(Base):
    __tablename__ = "channels"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    reservation_ttl_seconds: Mapped[int] = mapped_column(default=900)
    atp_buffer: Mapped[int] = mapped_column(default=0)
    # Pricing: the currency it sells in, the country whose tax rates apply, and whether its
    # prices are entered with the tax included.
    currency: Mapped[str] = mapped_column(String(3), default="GBP", server_default="GBP")
    country: Mapped[str] = mapped_column(String(2), default="GB", server_default="GB")
    prices_include_tax: Mapped[bool] = mapped_column(default=True, server_default=true())

    __table_args__ = (
        CheckConstraint("reservation_ttl_seconds > 0", name="ttl_positive"),
        CheckConstraint("atp_buffer >= 0", name="buffer_not_negative"),
    )


class Location(Base):
    __tablename__ = "locations"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    latitude: Mapped[float]
    longitude: Mapped[float]
    address: Mapped[str] = mapped_column(String(400), default="")
    timezone: Mapped[str] = mapped_column(String(60), default="Europe/London")
    opening_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ships_to_home: Mapped[bool] = mapped_column(default=False)
    pickup: Mapped[bool] = mapped_column(default=False)
    ship_to_store_target: Mapped[bool] = mapped_column(default=False)
    accepts_returns: Mapped[bool] = mapped_column(default=False)
    # Hands click & collect orders over at the kerb (fulfilment method ``curbside``).
    curbside: Mapped[bool] = mapped_column(default=False, server_default=false())
    daily_capacity: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint("daily_capacity >= 0", name="capacity_not_negative"),
    )


class ChannelLocation(Base):
    """Which locations' stock a channel sells."""

    __tablename__ = "channel_locations"

    channel_code: Mapped[str] = mapped_column(ForeignKey("channels.code"), primary_key=True)
    location_code: Mapped[str] = mapped_column(ForeignKey("locations.code"), primary_key=True)
