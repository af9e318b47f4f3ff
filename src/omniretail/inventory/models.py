"""Inventory tables and the rules the database itself enforces."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    SALE = "sale"
    ADJUSTMENT = "adjustment"
    CYCLE_COUNT = "cycle_count"
    SENSOR_COUNT = "sensor_count"
    TRANSFER_REQUEST = "transfer_request"
    TRANSFER_CANCEL = "transfer_cancel"
    TRANSFER_OUT = "transfer_out"  # source: units leave on hand (and their allocation)
    TRANSFER_IN_TRANSIT = "transfer_in_transit"  # destination: the same units now on the way
    TRANSFER_IN = "transfer_in"  # destination: units arrive, in transit becomes on hand
    RETURN_RESTOCK = "return_restock"
    WRITE_OFF = "write_off"
    RESERVE = "reserve"
    RELEASE = "release"
    EXPIRE = "expire"
    ALLOCATE = "allocate"
    DEALLOCATE = "deallocate"
    FULFIL = "fulfil"


class HoldKind(StrEnum):
    CART = "cart"  # a reservation with a TTL
    ORDER = "order"  # an allocation, held until fulfilled or released


class HoldStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    EXPIRED = "expired"
    SOLD = "sold"
    FULFILLED = "fulfilled"


class TransferStatus(StrEnum):
    REQUESTED = "requested"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class StockLevel(Base):
    """Counters for one SKU at one location, kept in step with the ledger in one transaction."""

    __tablename__ = "stock_levels"

    sku_code: Mapped[str] = mapped_column(ForeignKey("skus.code"), primary_key=True)
    location_code: Mapped[str] = mapped_column(
        ForeignKey("locations.code"), primary_key=True, index=True
    )
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    allocated: Mapped[int] = mapped_column(default=0)
    in_transit: Mapped[int] = mapped_column(default=0)
    safety_stock: Mapped[int] = mapped_column(default=0)
    reorder_point: Mapped[int | None]
    order_up_to: Mapped[int | None]
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("allocated >= 0", name="allocated_not_negative"),
        CheckConstraint("in_transit >= 0", name="in_transit_not_negative"),
        CheckConstraint("safety_stock >= 0", name="safety_stock_not_negative"),
        # The no-oversell rule: holds never exceed what is physically there.
        CheckConstraint("reserved + allocated <= on_hand", name="holds_within_on_hand"),
        CheckConstraint("reorder_point IS NULL OR reorder_point >= 0", name="reorder_point_ok"),
        CheckConstraint(
            "order_up_to IS NULL OR order_up_to >= COALESCE(reorder_point, 0)",
            name="order_up_to_ok",
        ),
    )


def _on_a_stock_row() -> ForeignKeyConstraint:
    """A hold's or a movement's (SKU, location) names a stock row, which names a SKU and a
    location (its own keys): one key for what two did. The stock row is the one the write
    has locked already (its counters change in the same transaction), so the check adds no
    lock, where a SKU's and a location's rows were share-locked by every concurrent buyer."""
    return ForeignKeyConstraint(
        ["sku_code", "location_code"], ["stock_levels.sku_code", "stock_levels.location_code"]
    )


class StockMovement(Base):
    """Append-only ledger row (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    sku_code: Mapped[str] = mapped_column(String(40))
    location_code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    on_hand_delta: Mapped[int] = mapped_column(default=0)
    reserved_delta: Mapped[int] = mapped_column(default=0)
    allocated_delta: Mapped[int] = mapped_column(default=0)
    in_transit_delta: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(120))
    reference: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]

    __table_args__ = (
        _on_a_stock_row(),
        Index("ix_stock_movements_sku_location", "sku_code", "location_code", "id"),
        CheckConstraint(
            "on_hand_delta <> 0 OR reserved_delta <> 0 OR allocated_delta <> 0"
            " OR in_transit_delta <> 0",
            name="moves_something",
        ),
    )


class StockHold(Base):
    """A cart reservation (with TTL) or an order allocation of units at one location."""

    __tablename__ = "stock_holds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    sku_code: Mapped[str] = mapped_column(String(40))
    location_code: Mapped[str] = mapped_column(String(40))
    channel_code: Mapped[str] = mapped_column(ForeignKey("channels.code"))
    quantity: Mapped[int]
    reference: Mapped[str | None] = mapped_column(String(120), index=True)
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        _on_a_stock_row(),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("kind IN ('cart', 'order')", name="kind_known"),
        CheckConstraint(
            "status IN ('active', 'released', 'expired', 'sold', 'fulfilled')",
            name="status_known",
        ),
        CheckConstraint("kind = 'order' OR expires_at IS NOT NULL", name="cart_holds_expire"),
        Index("ix_stock_holds_expiry", "status", "expires_at"),
        Index("ix_stock_holds_sku_location", "sku_code", "location_code", "status"),
    )


class Transfer(Base):
    __tablename__ = "transfers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    from_location: Mapped[str] = mapped_column(ForeignKey("locations.code"))
    to_location: Mapped[str] = mapped_column(ForeignKey("locations.code"))
    status: Mapped[str] = mapped_column(String(12))
    reference: Mapped[str | None] = mapped_column(String(120))
    requested_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    shipped_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("from_location <> to_location", name="distinct_ends"),
        CheckConstraint(
            "status IN ('requested', 'in_transit', 'received', 'cancelled')", name="status_known"
        ),
    )


class TransferLine(Base):
    __tablename__ = "transfer_lines"

    transfer_id: Mapped[str] = mapped_column(ForeignKey("transfers.id"), primary_key=True)
    sku_code: Mapped[str] = mapped_column(ForeignKey("skus.code"), primary_key=True)
    quantity: Mapped[int]
    # Units received so far: a store may receive part of a line and the rest later.
    received_quantity: Mapped[int] = mapped_column(default=0, server_default="0")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "received_quantity >= 0 AND received_quantity <= quantity", name="received_within"
        ),
    )
