"""What a cart answers: the ``CartRead`` of a cart view, each line that can no longer be
served as it is saying why and what is possible instead (``validate_lines``), and the refusal
of a quantity that cannot be reserved (``unavailable``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from omniretail.carts.errors import LinesUnavailable
from omniretail.carts.schemas import CartLineRead, CartRead, LineAlternative, LineProblem
from omniretail.carts.view import CartLineRow, CartView
from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as availability
from omniretail.inventory import service as inventory
from omniretail.inventory.errors import UnknownHold
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import AdjustmentRead


def cart_read(uow: UnitOfWork, cart: CartView, price_channel: str | None) -> CartRead:
    channel = price_channel or cart.channel
    problems = validate_lines(uow, cart.lines, channel) if cart.status == "active" else {}
    lines = [_line_read(ln, problems.get(ln.sku)) for ln in cart.lines]
    priced = cart.priced
    zero = Decimal(0) if priced is None else priced.gross * 0
    return CartRead(
        token=cart.token,
        id=cart.id,
        customer_id=cart.customer_id,
        status=cart.status,
        channel=cart.channel,
        price_channel=channel,
        version=cart.version,
        lines=lines,
        total=priced.gross if priced else zero,
        net_total=priced.net if priced else zero,
        tax_total=priced.tax if priced else zero,
        currency=cart.context.currency,
        prices_include_tax=cart.context.prices_include_tax,
        order_number=cart.order_number,
        coupons=list(cart.coupons),
        discounts=[
            AdjustmentRead(name=a.name, amount=a.amount, source=a.source, note=a.note)
            for a in (priced.adjustments if priced else ())
        ],
        fee=pricing.fee_read(priced.fee) if priced and priced.fee else None,
        merged_into=cart.merged_into,
        created_at=cart.created_at,
        updated_at=cart.updated_at,
    )


def _line_read(ln: CartLineRow, problem: LineProblem | None) -> CartLineRead:
    priced = ln.pricing
    return CartLineRead(
        sku=ln.sku,
        name=ln.name,
        quantity=ln.quantity,
        location=ln.location,
        hold_id=ln.hold_id,
        hold_expires_at=ln.hold_expires_at,
        unit_price=ln.unit_price,
        line_total=priced.gross if priced else None,
        net=priced.net if priced else None,
        tax=priced.tax if priced else None,
        tax_rate=priced.tax_rate if priced else None,
        price_list=priced.price_list if priced else None,
        price_list_name=priced.price_list_name if priced else None,
        adjustments=[
            AdjustmentRead(
                name=a.name, amount=a.amount, source=a.source, points=a.points, note=a.note
            )
            for a in (priced.adjustments if priced else ())
        ],
        problem=problem,
    )


def validate_lines(
    uow: UnitOfWork, lines: Sequence[CartLineRow], channel: str
) -> dict[str, LineProblem]:
    """Why a line can no longer be served as it is, and what is possible instead. Lines whose
    reservation is live need no stock read: those units are the cart's."""
    doubtful = [ln for ln in lines if not ln.held(uow.now) or ln.unit_price is None]
    if not doubtful:
        return {}
    stock = {a.sku: a for a in availability.availability(uow, [ln.sku for ln in doubtful])}
    sells_from = catalog.channel_settings(uow, channel).location_codes
    problems = {}
    for ln in doubtful:
        here = stock[ln.sku].locations if ln.sku in stock else []
        in_channel = [loc for loc in here if loc.location in sells_from]
        at_location = next((loc.available for loc in here if loc.location == ln.location), 0)
        at_location += _still_held(uow, ln)
        best = max((loc.available for loc in in_channel), default=0)
        alternatives = [
            LineAlternative(location=loc.location, available=loc.available)
            for loc in sorted(in_channel, key=lambda loc: (-loc.available, loc.location))
            if loc.available >= ln.quantity and loc.location != ln.location
        ][:5]
        common: dict[str, Any] = {
            "available_here": at_location,
            "available_in_channel": sum(loc.available for loc in in_channel),
            "alternatives": alternatives,
            "max_quantity": max(best, at_location),
        }
        if not ln.sku_active:
            problems[ln.sku] = LineProblem(
                code="sku_inactive", detail=f"{ln.sku} is no longer sold", **common
            )
        elif ln.unit_price is None:
            problems[ln.sku] = LineProblem(
                code="no_price", detail=f"{ln.sku} has no price on channel {channel}", **common
            )
        elif ln.location not in sells_from:
            problems[ln.sku] = LineProblem(
                code="not_sold_here",
                detail=f"channel {channel} does not sell from {ln.location}",
                **common,
            )
        elif at_location >= ln.quantity:
            problems[ln.sku] = LineProblem(
                code="reservation_lapsed",
                detail=(
                    f"the reservation of {ln.quantity} x {ln.sku} at {ln.location} lapsed;"
                    " the units are still there: refresh the cart to hold them again"
                ),
                **common,
            )
        else:
            problems[ln.sku] = LineProblem(
                code="out_of_stock",
                detail=(
                    f"the reservation lapsed and only {at_location} of {ln.sku} are left at"
                    f" {ln.location}; " + instead(ln.quantity, max(best, at_location), alternatives)
                ),
                **common,
            )
    return problems


def _still_held(uow: UnitOfWork, line: CartLineRow) -> int:
    """Units a lapsed reservation still holds until the sweep releases it (they are counted as
    taken in availability, yet a refresh can have them back)."""
    if line.hold_id is None:
        return 0
    try:
        hold = inventory.get_hold(uow, line.hold_id)
    except UnknownHold:
        return 0
    return hold.quantity if hold.status == "active" else 0


def possible(
    uow: UnitOfWork,
    sku: str,
    quantity: int,
    location: str | None,
    channel: str,
    available: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """``available``: units available by location, when the caller has just read them."""
    sells_from = catalog.channel_settings(uow, channel).location_codes
    if available is None:
        rows = availability.availability(uow, [sku])[0].locations
        available = {loc.location: loc.available for loc in rows}
    in_channel = [(n, code) for code, n in available.items() if code in sells_from]
    at_location = available.get(location, 0) if location is not None else 0
    alternatives = [
        {"location": code, "available": n}
        for n, code in sorted(in_channel, key=lambda loc: (-loc[0], loc[1]))
        if n >= quantity and code != location
    ][:5]
    return {
        "sku": sku,
        "requested": quantity,
        "available_here": at_location,
        "available_in_channel": sum(n for n, _code in in_channel),
        "max_quantity": max([at_location, *(n for n, _code in in_channel)]),
        "alternatives": alternatives,
    }


def unavailable(
    uow: UnitOfWork,
    sku: str,
    quantity: int,
    location: str | None,
    channel: str,
    available: Mapping[str, int] | None = None,
) -> LinesUnavailable:
    found = possible(uow, sku, quantity, location, channel, available)
    where = f" at {location}" if location else " at any one location"
    detail = f"only {found['available_here'] if location else found['max_quantity']}"
    detail += f" of {sku} available{where}; requested {quantity}. "
    detail += instead(
        quantity,
        found["max_quantity"],
        [LineAlternative(**a) for a in found["alternatives"]],
    )
    return LinesUnavailable(detail, field="quantity", **found)


def instead(quantity: int, max_quantity: int, alternatives: Sequence[LineAlternative]) -> str:
    if alternatives:
        names = ", ".join(f"{a.location} ({a.available})" for a in alternatives)
        return f"{quantity} can be reserved at {names}"
    if max_quantity > 0:
        return f"at most {max_quantity} can be reserved at one location"
    return "none can be reserved now"
