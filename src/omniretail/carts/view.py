"""A cart as read for a change or a checkout: its lines with their holds (one statement,
``load_cart``), priced by the pricing engine for the channel (one more)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from omniretail.carts import repository as repo
from omniretail.carts.errors import (
    UnknownCart,
)
from omniretail.db.uow import UnitOfWork
from omniretail.pricing import service as pricing
from omniretail.pricing.service import LineRequest, PricedCart, PricedLine, PricingContext


@dataclass(frozen=True)
class CartLineRow:
    id: str
    sku: str
    name: str | None
    quantity: int
    location: str
    hold_id: str | None
    hold_expires_at: datetime | None
    channel: str
    unit_price: Decimal | None
    sku_active: bool
    pricing: PricedLine | None = None

    def held(self, now: datetime) -> bool:
        return self.hold_id is not None and (
            self.hold_expires_at is None or self.hold_expires_at > now
        )


@dataclass(frozen=True)
class CartView:
    id: str
    token: str
    customer_id: int | None
    status: str
    channel: str
    version: int
    merged_into: str | None
    order_number: str | None
    created_at: datetime
    updated_at: datetime
    lines: list[CartLineRow]
    coupons: tuple[str, ...]
    context: PricingContext
    priced: PricedCart | None = None


def load_cart(
    uow: UnitOfWork,
    token: str,
    price_channel: str | None = None,
    *,
    priced: bool = True,
    method: str | None = None,
    customer_id: int | None = None,
) -> CartView:
    """The cart and its lines priced for ``price_channel`` (default the cart's); unpriced
    (``priced=False``) for a change, which reads the cart again to answer. ``method``: the
    fulfilment method chosen, whose fee (``priced.fee``) the total includes. ``customer_id``:
    the customer an associate identified at a till, who an anonymous cart is priced for (their
    prices and their own coupons); a customer's cart is always priced for its customer.
    Writes held for commit are sent first (a change earlier in this unit of work holds its
    cart lines and reservations until then)."""
    uow.write_held()
    rows = repo.cart_with_lines(uow.session, token)
    if not rows:
        raise UnknownCart("no cart with this token", field="token")
    return cart_view(
        uow, token, rows, price_channel, priced=priced, method=method, customer_id=customer_id
    )


def cart_view(
    uow: UnitOfWork,
    token: str,
    rows: Sequence[Any],
    price_channel: str | None = None,
    *,
    priced: bool = True,
    method: str | None = None,
    customer_id: int | None = None,
) -> CartView:
    """``load_cart`` of rows already read (``repo.cart_with_lines``' columns) by ``token``,
    which the rows do not hold (the database keeps only its digest, ``carts.tokens``)."""
    first = rows[0]
    coupons = tuple(c for c in (first.coupon_codes or "").split(",") if c)
    context = pricing.context_for(
        uow,
        price_channel or first.cart_channel,
        customer_id=first.customer_id if first.customer_id is not None else customer_id,
        coupons=coupons,
        method=method,
    )
    present = [r for r in rows if r.line_id is not None]
    quote = (
        pricing.price_cart(
            uow, context, [LineRequest(r.line_id, r.sku_code, r.quantity) for r in present]
        )
        if priced
        else None
    )
    lines = []
    for r in present:
        line = quote.line(r.line_id) if quote else None
        lines.append(
            CartLineRow(
                id=r.line_id,
                sku=r.sku_code,
                name=r.sku_name,
                quantity=r.quantity,
                location=r.location_code,
                hold_id=r.hold_id,
                hold_expires_at=r.hold_expires_at,
                channel=r.line_channel,
                unit_price=line.unit_price if line else None,
                sku_active=bool(r.sku_active),
                pricing=line,
            )
        )
    return CartView(
        id=first.cart_id,
        token=token,
        customer_id=first.customer_id,
        status=first.status,
        channel=first.cart_channel,
        version=first.version,
        merged_into=first.merged_into,
        order_number=first.order_number,
        created_at=first.created_at,
        updated_at=first.updated_at,
        lines=lines,
        coupons=coupons,
        context=context,
        priced=quote,
    )
