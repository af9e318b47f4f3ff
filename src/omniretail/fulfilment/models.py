"""Fulfilment's own tables: return requests (return authorisations) a customer starts before
handing items back, by post or in store. A request reserves nothing in stock and refunds
nothing; its lines hold units of order lines until it is received, cancelled or expires."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base


class ReturnRequestStatus(StrEnum):
    OPEN = "open"
    RECEIVED = "received"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class ReturnMethod(StrEnum):
    POST = "post"  # a parcel to the returns desk
    IN_STORE = "in_store"  # handed in at any store that accepts returns


class ReturnRequest(Base):
    __tablename__ = "return_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    method: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(10))
    # Post: the returns desk the label is addressed to.
    destination: Mapped[str | None] = mapped_column(ForeignKey("locations.code"))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    received_at: Mapped[datetime | None]
    received_location: Mapped[str | None] = mapped_column(ForeignKey("locations.code"))
    return_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'received', 'cancelled', 'expired')", name="status_known"
        ),
        CheckConstraint("method IN ('post', 'in_store')", name="method_known"),
        CheckConstraint(
            "(status = 'received') = (received_at IS NOT NULL)", name="received_when_received"
        ),
        CheckConstraint("method = 'in_store' OR destination IS NOT NULL", name="post_has_desk"),
        Index("ix_return_requests_order", "order_id", "status"),
        Index("ix_return_requests_due", "status", "expires_at"),
    )


class ReturnRequestLine(Base):
    __tablename__ = "return_request_lines"

    request_id: Mapped[str] = mapped_column(ForeignKey("return_requests.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    quantity: Mapped[int]

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)
