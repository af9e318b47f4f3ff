"""Cart tables: ``carts`` (one active cart per customer on every channel) and ``cart_lines``
(each holding an inventory reservation). Prices are ``pricing``'s."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base


class CartStatus(StrEnum):
    ACTIVE = "active"
    CHECKED_OUT = "checked_out"
    MERGED = "merged"


class Cart(Base):
    """One cart per customer across every channel (or per anonymous token until login)."""

    __tablename__ = "carts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The bearer secret in URLs and the cart QR code, at rest (carts.tokens): its SHA-256, the
    # look-up key, and its vault ciphertext; the id is what other tables see.
    token_digest: Mapped[str] = mapped_column(String(64))
    token_enc: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(12))
    channel_code: Mapped[str] = mapped_column(ForeignKey("channels.code"))
    version: Mapped[int] = mapped_column(default=1)
    merged_into: Mapped[str | None] = mapped_column(String(36))
    order_number: Mapped[str | None] = mapped_column(String(40))
    # Coupon codes applied (comma separated, at most ``MAX_COUPONS``), priced with the cart.
    coupon_codes: Mapped[str | None] = mapped_column(String(250))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("status IN ('active', 'checked_out', 'merged')", name="status_known"),
        # The name of the constraint on the clear column the digest replaced (migration 0056
        # renamed the column; SQLite renames no constraint without rebuilding the table).
        UniqueConstraint("token_digest", name="uq_carts_token"),
        # One active cart per customer: the same cart on every channel.
        Index(
            "uq_carts_active_customer",
            "customer_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )


class CartLine(Base):
    __tablename__ = "cart_lines"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id"))
    sku_code: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int]
    location_code: Mapped[str] = mapped_column(String(40))
    # The inventory reservation holding the units; NULL when it lapsed and could not be renewed.
    hold_id: Mapped[str | None] = mapped_column(String(36))
    hold_expires_at: Mapped[datetime | None]
    channel_code: Mapped[str] = mapped_column(ForeignKey("channels.code"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        # The stock row the line's reservation holds (it names the SKU and the location):
        # written with the reservation, whose transaction has the row locked already.
        ForeignKeyConstraint(
            ["sku_code", "location_code"],
            ["stock_levels.sku_code", "stock_levels.location_code"],
        ),
        UniqueConstraint("cart_id", "sku_code"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )
