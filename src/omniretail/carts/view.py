"""A cart as read for a change or a checkout: its lines with their holds and prices (one
statement, ``load_cart``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from omniretail.carts import repository as repo
from omniretail.carts.errors import (
    UnknownCart,
)
from omniretail.db.uow import UnitOfWork


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


def load_cart(uow: UnitOfWork, token: str, price_channel: str | None = None) -> CartView:
    """The cart and its lines priced for ``price_channel`` (default the cart's), one query."""
    rows = repo.cart_with_lines(uow.session, token, price_channel)
    if not rows:
        raise UnknownCart("no cart with this token", field="token")
    first = rows[0]
    lines = [
        CartLineRow(
            id=r.line_id,
            sku=r.sku_code,
            name=r.sku_name,
            quantity=r.quantity,
            location=r.location_code,
            hold_id=r.hold_id,
            hold_expires_at=r.hold_expires_at,
            channel=r.line_channel,
            unit_price=r.channel_price if r.channel_price is not None else r.list_price,
            sku_active=bool(r.sku_active),
        )
        for r in rows
        if r.line_id is not None
    ]
    return CartView(
        id=first.cart_id,
        token=first.token,
        customer_id=first.customer_id,
        status=first.status,
        channel=first.cart_channel,
        version=first.version,
        merged_into=first.merged_into,
        order_number=first.order_number,
        created_at=first.created_at,
        updated_at=first.updated_at,
        lines=lines,
    )
