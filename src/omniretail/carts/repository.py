"""The only place that builds queries over the cart tables (carts, cart lines)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Row,
    Select,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from omniretail.carts.models import Cart, CartLine, CartStatus
from omniretail.catalog.models import Sku
from omniretail.db.sql import rowcount
from omniretail.kernel.ids import token_digest

carts = cast(Table, Cart.__table__)
cart_lines = cast(Table, CartLine.__table__)
skus = cast(Table, Sku.__table__)


def cart_owner(session: Session, token: str) -> Row[Any, Any, Any] | None:
    """The customer a cart belongs to (``customer_id`` null: an anonymous cart) and the channel
    it was last used on."""
    return session.execute(_CART_OWNER, {"digest": token_digest(token)}).one_or_none()


# Built once: every cart call's authorisation runs it. Carts are found by their token's digest
# (``carts.tokens``): the token itself is never stored.
_CART_OWNER = select(carts.c.customer_id, carts.c.channel_code, carts.c.status).where(
    carts.c.token_digest == bindparam("digest", type_=String)
)


def insert_cart(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(carts), values)


def active_cart_of_customer(session: Session, customer_id: int) -> Row[Any] | None:
    return session.execute(_ACTIVE_CART_OF_CUSTOMER, {"customer_id": customer_id}).one_or_none()


# Built once: every signed-in shopper's cart creation runs it.
_ACTIVE_CART_OF_CUSTOMER = select(carts).where(
    carts.c.customer_id == bindparam("customer_id", type_=carts.c.customer_id.type),
    carts.c.status == CartStatus.ACTIVE.value,
)


def cart_with_lines(session: Session, token: str) -> list[Row[Any]]:
    """The cart and its lines with the SKU name, in one statement (prices are the pricing
    engine's). One row per line (or one row with NULL line columns for an empty cart)."""
    return list(session.execute(_cart_with_lines_statement(), {"digest": token_digest(token)}))


_LINE_COLUMNS = (
    cart_lines.c.id.label("line_id"),
    cart_lines.c.sku_code,
    cart_lines.c.quantity,
    cart_lines.c.location_code,
    cart_lines.c.hold_id,
    cart_lines.c.hold_expires_at,
    cart_lines.c.channel_code.label("line_channel"),
    skus.c.name.label("sku_name"),
    skus.c.active.label("sku_active"),
)


def _cart_columns(source: Any) -> list[Any]:
    """The cart's columns as the cart view reads them, from ``carts`` or a CTE of its rows."""
    c = source.c
    return [
        c.id.label("cart_id"),
        c.customer_id,
        c.status,
        c.channel_code.label("cart_channel"),
        c.version,
        c.merged_into,
        c.order_number,
        c.coupon_codes,
        c.created_at,
        c.updated_at,
    ]


@cache
def _cart_with_lines_statement() -> Select[Any]:
    # Built once: the hottest read of the cart flow (every change and checkout).
    return (
        select(
            *_cart_columns(carts),
            *_LINE_COLUMNS,
        )
        .select_from(
            carts.outerjoin(cart_lines, cart_lines.c.cart_id == carts.c.id).outerjoin(
                skus, skus.c.code == cart_lines.c.sku_code
            )
        )
        .where(carts.c.token_digest == bindparam("digest", type_=String))
        .order_by(cart_lines.c.created_at, cart_lines.c.sku_code)
    )


def touch_active_cart_by_token(
    session: Session, token: str, channel: str | None, now: datetime
) -> Row[Any] | None:
    """Bumps the version of an active cart (and takes its row lock until commit), so that a
    checkout that read an older version refuses instead of ordering a changed cart. Done
    before the cart is read: the read that follows sees every change committed before this
    one took the lock. ``channel`` None keeps the cart's channel."""
    params = {"t_digest": token_digest(token), "t_now": now, "t_channel": channel}
    return session.execute(_touch_statement(channel is not None), params).one_or_none()


def touched_cart_with_lines(
    session: Session, token: str, channel: str | None, now: datetime
) -> list[Row[Any]] | None:
    """``touch_active_cart_by_token`` and ``cart_with_lines`` in one statement on PostgreSQL
    (a data-modifying CTE; None on SQLite, which has none). The cart's columns are the row
    as updated; the lines are read on the statement's snapshot, taken before the row lock, so
    each row also carries ``seen_version``, the version on that snapshot: when it is not the
    one just bumped, a change was committed meanwhile and the lines must be read again.
    No rows: the cart is not active."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    params = {"t_digest": token_digest(token), "t_now": now, "t_channel": channel}
    return list(session.execute(_touched_with_lines_statement(channel is not None), params))


def _touch(sets_channel: bool) -> Any:
    values: dict[str, Any] = {
        "version": carts.c.version + 1,
        "updated_at": bindparam("t_now", type_=carts.c.updated_at.type),
    }
    if sets_channel:
        values["channel_code"] = bindparam("t_channel", type_=carts.c.channel_code.type)
    return (
        update(carts)
        .where(
            carts.c.token_digest == bindparam("t_digest", type_=String),
            carts.c.status == CartStatus.ACTIVE.value,
        )
        .values(**values)
    )


@cache
def _touch_statement(sets_channel: bool) -> Any:
    # Built once (every cart change): a statement built per call costs its cache key.
    return _touch(sets_channel).returning(carts.c.id, carts.c.version, carts.c.customer_id)


@cache
def _touched_with_lines_statement(sets_channel: bool) -> Select[Any]:
    touched = _touch(sets_channel).returning(*carts.c).cte("touched")
    seen = carts.alias("seen")
    return (
        select(
            *_cart_columns(touched),
            seen.c.version.label("seen_version"),
            *_LINE_COLUMNS,
        )
        .select_from(
            touched.join(seen, seen.c.id == touched.c.id)
            .outerjoin(cart_lines, cart_lines.c.cart_id == touched.c.id)
            .outerjoin(skus, skus.c.code == cart_lines.c.sku_code)
        )
        .order_by(cart_lines.c.created_at, cart_lines.c.sku_code)
    )


def close_cart(
    session: Session,
    cart_id: str,
    *,
    expected_version: int | None,
    status: CartStatus,
    now: datetime,
    order_number: str | None = None,
    merged_into: str | None = None,
) -> bool:
    stmt = (
        update(carts)
        .where(carts.c.id == cart_id, carts.c.status == CartStatus.ACTIVE.value)
        .values(
            status=status.value,
            order_number=order_number,
            merged_into=merged_into,
            updated_at=now,
            version=carts.c.version + 1,
        )
    )
    if expected_version is not None:
        stmt = stmt.where(carts.c.version == expected_version)
    return bool(rowcount(session.execute(stmt)))


def checkout_close(
    cart_id: str, expected_version: int, order_number: str, now: datetime
) -> tuple[Any, dict[str, Any]]:
    """``close_cart`` as checkout does it (checked out for ``order_number``, unless the cart
    changed since it was read), as a statement with RETURNING and its parameters, for a
    caller that sends it with its own write (``orders.repository.insert_order_closing``)."""
    params = {
        "c_id": cart_id,
        "c_version": expected_version,
        "c_number": order_number,
        "c_now": now,
    }
    return _checkout_close_statement(), params


@cache
def _checkout_close_statement() -> Any:
    return (
        update(carts)
        .where(
            carts.c.id == bindparam("c_id", type_=carts.c.id.type),
            carts.c.status == CartStatus.ACTIVE.value,
            carts.c.version == bindparam("c_version", type_=carts.c.version.type),
        )
        .values(
            status=CartStatus.CHECKED_OUT.value,
            order_number=bindparam("c_number", type_=carts.c.order_number.type),
            merged_into=None,
            updated_at=bindparam("c_now", type_=carts.c.updated_at.type),
            version=carts.c.version + 1,
        )
        .returning(carts.c.id)
    )


def reopen_cart(session: Session, cart_id: str, order_number: str, now: datetime) -> bool:
    """A cart closed for ``order_number`` whose payment failed is active again; its lines
    hold nothing any more (their holds became the attempt's allocations, now released)."""
    done = bool(
        rowcount(
            session.execute(
                update(carts)
                .where(
                    carts.c.id == cart_id,
                    carts.c.status == CartStatus.CHECKED_OUT.value,
                    carts.c.order_number == order_number,
                )
                .values(
                    status=CartStatus.ACTIVE.value,
                    order_number=None,
                    updated_at=now,
                    version=carts.c.version + 1,
                )
            )
        )
    )
    if done:
        session.execute(
            update(cart_lines)
            .where(cart_lines.c.cart_id == cart_id)
            .values(hold_id=None, hold_expires_at=None)
        )
    return done


def set_cart_customer(session: Session, cart_id: str, customer_id: int, now: datetime) -> None:
    session.execute(
        update(carts)
        .where(carts.c.id == cart_id)
        .values(customer_id=customer_id, updated_at=now, version=carts.c.version + 1)
    )


def insert_cart_line(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(cart_lines), values)


def update_cart_line(session: Session, line_id: str, values: dict[str, Any]) -> None:
    params = {f"l_{name}": value for name, value in values.items()}
    session.execute(_update_line_statement(tuple(values)), {"l_line": line_id, **params})


@cache
def _update_line_statement(columns: tuple[str, ...]) -> Any:
    # Built once per set of columns (a handful of call sites), not on every change.
    return (
        update(cart_lines)
        .where(cart_lines.c.id == bindparam("l_line", type_=cart_lines.c.id.type))
        .values({c: bindparam(f"l_{c}", type_=cart_lines.c[c].type) for c in columns})
    )


def delete_cart_line(session: Session, line_id: str) -> None:
    session.execute(delete(cart_lines).where(cart_lines.c.id == line_id))


def set_coupon_codes(session: Session, cart_id: str, codes: str | None, now: datetime) -> bool:
    stmt = (
        update(carts)
        .where(carts.c.id == cart_id, carts.c.status == CartStatus.ACTIVE.value)
        .values(coupon_codes=codes, updated_at=now, version=carts.c.version + 1)
    )
    return rowcount(session.execute(stmt)) == 1
