"""Retail trigger sources: back-in-stock alerts, the last price seen per SKU and channel
(to tell a drop) and marks that make each trigger fire once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK


class StockAlert(Base):
    """ "Tell me when it's back": one customer, one SKU, one store; ``waiting`` until the SKU
    is available there (then ``notified``, once) or the customer cancels it."""

    __tablename__ = "marketing_stock_alerts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    sku_code: Mapped[str] = mapped_column(ForeignKey("skus.code"))
    location_code: Mapped[str] = mapped_column(ForeignKey("locations.code"))
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime]
    notified_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("status IN ('waiting', 'notified', 'cancelled')", name="status_known"),
        Index(
            "uq_marketing_stock_alerts_waiting",
            "customer_id",
            "sku_code",
            "location_code",
            unique=True,
            postgresql_where=text("status = 'waiting'"),
            sqlite_where=text("status = 'waiting'"),
        ),
        Index("ix_marketing_stock_alerts_sku", "sku_code", "location_code", "status"),
    )


class SeenPrice(Base):
    """The last price marketing saw for a SKU on a channel (a price event carries only the
    new one)."""

    __tablename__ = "marketing_seen_prices"

    sku_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[datetime]


class TriggerMark(Base):
    """A trigger that fired (``price:<customer>:<sku>:<price>``,
    ``browse:<customer>:<sku>:<day>``): inserted with the event, so it fires once."""

    __tablename__ = "marketing_trigger_marks"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime]
