from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK


class OrderKind(StrEnum):
    SALE = "sale"
    CANCELLATION = "cancellation"  # source invoices prefixed C
    ADJUSTMENT = "adjustment"  # source invoices prefixed A (bad-debt adjustments)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    channel_code: Mapped[str] = mapped_column(ForeignKey("channels.code"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    country: Mapped[str | None] = mapped_column(String(80))
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    total: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    placed_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (
        CheckConstraint("kind IN ('sale', 'cancellation', 'adjustment')", name="kind_known"),
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    line_no: Mapped[int]
    # Product lines name a SKU; charges (postage, fees, manual lines) name a charge code instead.
    sku_code: Mapped[str | None] = mapped_column(ForeignKey("skus.code"), index=True)
    charge_code: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(String(300))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    # A cancellation line points at the earlier sale line it reverses, where one is found.
    cancels_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))

    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        CheckConstraint("(sku_code IS NULL) <> (charge_code IS NULL)", name="sku_xor_charge"),
        Index("ix_order_lines_order", "order_id"),
    )
