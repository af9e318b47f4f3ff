"""Order tables and the state machines the database and the services enforce.

``orders`` and ``order_lines`` also hold the imported order history (the importer's columns
come first and keep their meaning); everything the live order flow adds is nullable or has a
server default, so an imported row is a valid row.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK
from omniretail.routing.schemas import COLLECT_AT_SOURCE, PICKUP_METHODS, FulfilmentMethod


class OrderKind(StrEnum):
    SALE = "sale"
    CANCELLATION = "cancellation"  # source invoices prefixed C
    ADJUSTMENT = "adjustment"  # source invoices prefixed A (bad-debt adjustments)


class OrderStatus(StrEnum):
    """Derived from the order's fulfilments after every change (see ``derive_order_status``)."""

    # Stock allocated, the card not yet authorised (checkout's first transaction); becomes
    # ``confirmed`` when the provider approves, or is removed when it declines (``attempts``).
    AWAITING_PAYMENT = "awaiting_payment"
    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    ARRIVED_AT_STORE = "arrived_at_store"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RETURNED_TO_STOCK = "returned_to_stock"


class FulfilmentStatus(StrEnum):
    CREATED = "created"
    ACCEPTED = "accepted"
    PICKING = "picking"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    READY_FOR_PICKUP = "ready_for_pickup"
    COLLECTED = "collected"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    RETURNED_TO_STOCK = "returned_to_stock"


S = FulfilmentStatus


M = FulfilmentMethod


_BEFORE_SHIPMENT = (S.CREATED, S.ACCEPTED, S.PICKING, S.PACKED)


# (from, to) -> the methods for which the step exists. Everything else is a 409.
TRANSITIONS: dict[tuple[FulfilmentStatus, FulfilmentStatus], frozenset[FulfilmentMethod]] = {
    (S.CREATED, S.ACCEPTED): frozenset(M),
    (S.ACCEPTED, S.PICKING): frozenset(M),
    (S.PICKING, S.PACKED): frozenset(M),
    (S.PACKED, S.SHIPPED): frozenset({M.SHIP_TO_HOME, M.SHIP_TO_STORE, M.LOCKER}),
    (S.SHIPPED, S.DELIVERED): frozenset({M.SHIP_TO_HOME}),
    (S.PACKED, S.READY_FOR_PICKUP): frozenset(COLLECT_AT_SOURCE),
    # ship-to-store: arrived at the store; locker: the carrier put it in the locker
    (S.SHIPPED, S.READY_FOR_PICKUP): frozenset({M.SHIP_TO_STORE, M.LOCKER}),
    (S.READY_FOR_PICKUP, S.COLLECTED): frozenset(PICKUP_METHODS),
    (S.READY_FOR_PICKUP, S.RETURNED_TO_STOCK): frozenset(PICKUP_METHODS),
    **{(s, S.REJECTED): frozenset(M) for s in (S.CREATED, S.ACCEPTED, S.PICKING)},
    **{(s, S.CANCELLED): frozenset(M) for s in _BEFORE_SHIPMENT},
    # Click & collect is not shipped yet while it waits at the store's own counter.
    (S.READY_FOR_PICKUP, S.CANCELLED): frozenset({M.PICKUP_IN_STORE, M.CURBSIDE, M.SHIP_TO_STORE}),
}


TERMINAL = frozenset({S.DELIVERED, S.COLLECTED, S.REJECTED, S.CANCELLED, S.RETURNED_TO_STOCK})

# Pickup codes tried at the counter for one fulfilment before its code is refused (six
# digits: five guesses are one chance in 200,000); an override with a reason still hands over.
PICKUP_CODE_TRIES = 5


def allowed(method: FulfilmentMethod, current: FulfilmentStatus, to: FulfilmentStatus) -> bool:
    return method in TRANSITIONS.get((current, to), frozenset())


def next_steps(method: FulfilmentMethod, current: FulfilmentStatus) -> list[FulfilmentStatus]:
    return [
        to for (frm, to), methods in TRANSITIONS.items() if frm == current and method in methods
    ]


def derive_order_status(
    fulfilments: list[tuple[FulfilmentMethod, FulfilmentStatus]],
) -> OrderStatus:
    """The order's status is a summary of its live fulfilments (rejected ones were replaced)."""
    live = [(m, s) for m, s in fulfilments if s is not S.REJECTED]
    states = {s for _, s in live}
    if not live or states == {S.CANCELLED}:
        return OrderStatus.CANCELLED
    active = [(m, s) for m, s in live if s is not S.CANCELLED]
    if all(s is S.RETURNED_TO_STOCK for _, s in active):
        return OrderStatus.RETURNED_TO_STOCK
    if all(s in (S.DELIVERED, S.COLLECTED, S.RETURNED_TO_STOCK) for _, s in active):
        return OrderStatus.COMPLETED
    ready = [m for m, s in active if s is S.READY_FOR_PICKUP]
    if ready:
        if M.SHIP_TO_STORE in ready:
            return OrderStatus.ARRIVED_AT_STORE
        return OrderStatus.READY_FOR_PICKUP
    moved = [s for _, s in active if s in (S.SHIPPED, S.DELIVERED, S.COLLECTED)]
    if moved:
        return OrderStatus.SHIPPED if len(moved) == len(active) else OrderStatus.PARTIALLY_SHIPPED
    if all(s is S.CREATED for _, s in active):
        return OrderStatus.CONFIRMED
    return OrderStatus.IN_PROGRESS


class LineStatus(StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"  # shipped or handed over
    CANCELLED = "cancelled"


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
    # --- the live order flow (NULL on imported history) ---
    # The tracking link's bearer token (``/track/<token>``) at rest (orders.contact): its
    # SHA-256, the look-up key, and its vault ciphertext, opened to build the owner's links.
    # NULL on imported history (no tracking page), so a live order is one with a digest.
    tracking_token_digest: Mapped[str | None] = mapped_column(String(64))
    tracking_token_enc: Mapped[str | None] = mapped_column(Text)
    cart_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    # Vault ciphertext (orders.contact): the email, and the address and coordinates of the
    # delivery; ``delivery`` keeps the method and the pickup location only.
    contact_email_enc: Mapped[str | None] = mapped_column(Text)
    delivery: Mapped[dict[str, Any] | None]
    delivery_enc: Mapped[str | None] = mapped_column(Text)
    payment_provider: Mapped[str | None] = mapped_column(String(40))
    # The provider's token given at checkout, as vault ciphertext (orders.contact): an
    # exchange authorises again with it; erasure sets it to NULL.
    payment_token_enc: Mapped[str | None] = mapped_column(Text)
    payment_reference: Mapped[str | None] = mapped_column(String(120))
    amount_authorised: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    amount_captured: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    amount_voided: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    routing_version: Mapped[int | None]
    updated_at: Mapped[datetime | None]
    # The delivery or pickup fee charged (``pricing.service.fee_breakdown``: name, method,
    # amount, waivers, tax, net and gross); ``total`` includes its gross. NULL: no fee.
    fee: Mapped[dict[str, Any] | None]

    __table_args__ = (
        CheckConstraint("kind IN ('sale', 'cancellation', 'adjustment')", name="kind_known"),
        # The name of the constraint on the clear column the digest replaced (migration 0056
        # renamed the column; SQLite renames no constraint without rebuilding the table).
        UniqueConstraint("tracking_token_digest", name="uq_orders_tracking_token"),
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
    # --- the live order flow (NULL on imported history) ---
    # One order line is served by one fulfilment; a cart line split across two locations
    # becomes two order lines.
    fulfilment_id: Mapped[str | None] = mapped_column(ForeignKey("fulfilments.id"), index=True)
    hold_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str | None] = mapped_column(String(12))
    # Returns (BORIS and post) book here; returnable = quantity - quantity_returned once fulfilled.
    quantity_returned: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # --- pricing at checkout (``pricing.service.breakdown``; NULL on history and charges):
    # the line's net and tax, and where its price and tax came from.
    net_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    tax_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    pricing: Mapped[dict[str, Any] | None]

    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        CheckConstraint("(sku_code IS NULL) <> (charge_code IS NULL)", name="sku_xor_charge"),
        CheckConstraint(
            "quantity_returned >= 0 AND quantity_returned <= ABS(quantity)",
            name="returned_within_quantity",
        ),
        # The unique (order_id, line_no) index also serves look-ups by order.
    )


class Fulfilment(Base):
    """The part of an order one location serves by one method, with its own state machine."""

    __tablename__ = "fulfilments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    location_code: Mapped[str] = mapped_column(ForeignKey("locations.code"))
    pickup_location_code: Mapped[str | None] = mapped_column(ForeignKey("locations.code"))
    promised_date: Mapped[date]
    capacity_day: Mapped[date | None]  # the day whose ship-from-store capacity it uses
    transfer_id: Mapped[str | None] = mapped_column(String(36))
    # The code that hands it over, as vault ciphertext (``orders.contact.pickup_code``).
    pickup_code_enc: Mapped[str | None] = mapped_column(Text)
    ready_at: Mapped[datetime | None]
    collect_by: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(default=0)
    # Pickup codes tried at the counter since it became ready, each counted before it is
    # compared (``fulfilment.pickup_codes``): after ``PICKUP_CODE_TRIES`` it is refused.
    pickup_code_tries: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    carrier: Mapped[str | None] = mapped_column(String(60))
    tracking_number: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(
            "status IN ('created', 'accepted', 'picking', 'packed', 'shipped', 'delivered',"
            " 'ready_for_pickup', 'collected', 'rejected', 'cancelled', 'returned_to_stock')",
            name="status_known",
        ),
        CheckConstraint(
            "method IN ('ship_to_home', 'pickup_in_store', 'ship_to_store', 'locker', 'curbside')",
            name="method_known",
        ),
        CheckConstraint("reminders_sent >= 0", name="reminders_not_negative"),
        Index("ix_fulfilments_pickup_due", "status", "collect_by"),
    )


class FulfilmentLog(Base):
    """Append-only audit of every fulfilment change (who, what, why), incl. handover overrides."""

    __tablename__ = "fulfilment_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    fulfilment_id: Mapped[str | None] = mapped_column(ForeignKey("fulfilments.id"))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(120))
    detail: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class PaymentAttemptStatus(StrEnum):
    PENDING = "pending"  # allocated, the provider being asked
    AUTHORISED = "authorised"  # the order confirmed
    FAILED = "failed"  # declined, timed out or expired: stock released, no order


class PaymentAttempt(Base):
    """One checkout's card authorisation, done between two transactions: the id is the
    provider's idempotency key (``checkout:<cart>:<version>``), so a sweep asks the provider
    whether it authorised after a crash (``orders.checkout.attempts``)."""

    __tablename__ = "order_payment_attempts"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    order_number: Mapped[str] = mapped_column(String(40), unique=True)
    cart_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(12))
    provider: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(300))
    # The ``OrderConfirmed`` event's fields, recorded when the attempt is authorised.
    confirmation: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    # The allocation's expiry: a pending attempt past it is reconciled by the sweep.
    expires_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'authorised', 'failed')", name="status_known"),
        Index("ix_order_payment_attempts_status_expires", "status", "expires_at"),
    )
