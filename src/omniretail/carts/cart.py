"""Cart use cases: one cart per customer on every channel, each line holding a reservation.

Every change runs in the caller's unit of work: it bumps the cart's version (taking the cart
row's lock), changes the line's reservation through the inventory service, refreshes the other
lines' reservations (the cart is active), and answers with the validated cart. A change that
cannot be served raises ``LinesUnavailable`` saying why and what is possible instead; the
transaction then rolls back, so nothing is left half changed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from omniretail.carts import repository as repo
from omniretail.carts.errors import (
    CartNotActive,
    LinesUnavailable,
    NoPrice,
    UnknownCart,
    UnknownCartLine,
    UnknownCustomer,
)
from omniretail.carts.events import (
    CartAttached,
    CartCreated,
    CartLineAdded,
    CartLineChanged,
    CartMerged,
)
from omniretail.carts.models import CartStatus
from omniretail.carts.schemas import (
    CartAttach,
    CartCreate,
    CartLineAdd,
    CartLineRead,
    CartLineUpdate,
    CartRead,
    LineAlternative,
    LineProblem,
)
from omniretail.carts.view import CartLineRow, CartView, load_cart
from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownLocation, UnknownSku
from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as availability
from omniretail.inventory import service as inventory
from omniretail.inventory.errors import (
    ChannelDoesNotSellHere,
    HoldNotActive,
    OutOfStock,
    ReservationExpired,
    UnknownHold,
)
from omniretail.inventory.schemas import HoldRead, SaleCreate
from omniretail.kernel.ids import new_id, new_token
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import AdjustmentRead
from omniretail.pricing.service import LineRequest
from omniretail.routing import service as routing
from omniretail.routing.service import FulfilmentMethod, Need


def create_cart(uow: UnitOfWork, data: CartCreate, *, actor: str) -> CartRead:
    """A new cart, or the customer's active cart if they have one (the same on every channel)."""
    catalog.channel_settings(uow, data.channel)
    if data.customer_id is not None:
        _require_customer(uow, data.customer_id)
        existing = repo.active_cart_of_customer(uow.session, data.customer_id)
        if existing is not None:
            return get_cart(uow, existing.token, data.channel)
    cart_id, token = new_id(), new_token(24)
    repo.insert_cart(
        uow.session,
        {
            "id": cart_id,
            "token": token,
            "customer_id": data.customer_id,
            "status": CartStatus.ACTIVE.value,
            "channel_code": data.channel,
            "version": 1,
            "created_at": uow.now,
            "updated_at": uow.now,
        },
    )
    uow.record(CartCreated(cart_id=cart_id, channel=data.channel, customer_id=data.customer_id))
    return get_cart(uow, token)


def get_cart(
    uow: UnitOfWork,
    token: str,
    price_channel: str | None = None,
    method: str | None = None,
    *,
    customer_id: int | None = None,
) -> CartRead:
    """``customer_id``: the customer identified at a till (``load_cart``); never a client's."""
    if price_channel is not None:
        catalog.channel_settings(uow, price_channel)
    cart = load_cart(uow, token, price_channel, method=method, customer_id=customer_id)
    return cart_read(uow, cart, price_channel)


def find_active_cart(uow: UnitOfWork, customer_id: int, price_channel: str | None) -> CartRead:
    """An associate looks the customer's cart up by customer id."""
    cart = repo.active_cart_of_customer(uow.session, customer_id)
    if cart is None:
        raise UnknownCart(f"customer {customer_id} has no active cart", field="customer_id")
    return get_cart(uow, cart.token, price_channel)


def add_line(uow: UnitOfWork, token: str, data: CartLineAdd, *, actor: str) -> CartRead:
    cart = _begin_change(uow, token, data.channel)
    channel = data.channel or cart.channel
    existing = next((ln for ln in cart.lines if ln.sku == data.sku), None)
    if existing is not None:
        _rehold(
            uow, cart, existing, existing.quantity + data.quantity, data.location, channel, actor
        )
    else:
        _require_sellable(uow, [data.sku], channel)
        hold = _place(uow, cart, data.sku, data.quantity, data.location, channel, actor)
        repo.insert_cart_line(
            uow.session,
            {
                "id": new_id(),
                "cart_id": cart.id,
                "sku_code": data.sku,
                "quantity": data.quantity,
                "location_code": hold.location,
                "hold_id": hold.id,
                "hold_expires_at": hold.expires_at,
                "channel_code": channel,
                "created_at": uow.now,
                "updated_at": uow.now,
            },
        )
    _refresh_others(uow, cart, skip={data.sku}, actor=actor)
    uow.record(CartLineAdded(cart_id=cart.id, sku=data.sku, quantity=data.quantity))
    return get_cart(uow, token, data.channel)


def update_line(
    uow: UnitOfWork, token: str, sku: str, data: CartLineUpdate, *, actor: str
) -> CartRead:
    cart = _begin_change(uow, token, data.channel)
    line = _line(cart, sku)
    channel = data.channel or line.channel
    if data.quantity == 0:
        _release_quietly(uow, line, actor)
        repo.delete_cart_line(uow.session, line.id)
    else:
        _rehold(uow, cart, line, data.quantity, data.location, channel, actor)
    _refresh_others(uow, cart, skip={sku}, actor=actor)
    uow.record(CartLineChanged(cart_id=cart.id, sku=sku, quantity=data.quantity))
    return get_cart(uow, token, data.channel)


def remove_line(uow: UnitOfWork, token: str, sku: str, *, actor: str) -> CartRead:
    return update_line(uow, token, sku, CartLineUpdate(quantity=0), actor=actor)


def refresh_cart(uow: UnitOfWork, token: str, *, actor: str) -> CartRead:
    """Activity on the cart: every reservation lives another TTL; lapsed ones are taken again
    where stock allows (else the line says why)."""
    cart = _begin_change(uow, token, None)
    _refresh_others(uow, cart, skip=set(), actor=actor)
    return get_cart(uow, token)


def attach_customer(uow: UnitOfWork, token: str, data: CartAttach, *, actor: str) -> CartRead:
    """Login: an anonymous cart becomes the customer's. If they already have an active cart,
    this cart's lines move into it (quantities of the same SKU add up) and this one is closed
    as merged; the answer is the customer's cart (its token is the one to use from now on)."""
    _require_customer(uow, data.customer_id)
    cart = _begin_change(uow, token, None)
    if cart.customer_id is not None and cart.customer_id != data.customer_id:
        raise CartNotActive(
            "this cart belongs to another customer", field="customer_id", cart_status=cart.status
        )
    target_row = repo.active_cart_of_customer(uow.session, data.customer_id)
    if target_row is None or target_row.id == cart.id:
        repo.set_cart_customer(uow.session, cart.id, data.customer_id, uow.now)
        uow.record(CartAttached(cart_id=cart.id, customer_id=data.customer_id))
        return get_cart(uow, token)
    target = _begin_change(uow, target_row.token, None)
    for line in cart.lines:
        into = next((ln for ln in target.lines if ln.sku == line.sku), None)
        if into is None:
            repo.update_cart_line(uow.session, line.id, {"cart_id": target.id})
            continue
        _release_quietly(uow, line, actor)
        repo.delete_cart_line(uow.session, line.id)
        _rehold(uow, target, into, into.quantity + line.quantity, None, into.channel, actor)
    repo.close_cart(
        uow.session,
        cart.id,
        expected_version=None,
        status=CartStatus.MERGED,
        now=uow.now,
        merged_into=target.id,
    )
    uow.record(
        CartMerged(cart_id=cart.id, into=target.id, customer_id=data.customer_id, actor=actor)
    )
    return get_cart(uow, target.token)


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
                    f" {ln.location}; "
                    + _instead(ln.quantity, max(best, at_location), alternatives)
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


def _begin_change(uow: UnitOfWork, token: str, channel: str | None) -> CartView:
    cart = load_cart(uow, token, priced=False)
    if cart.status != CartStatus.ACTIVE.value:
        raise CartNotActive(
            f"the cart is {cart.status}"
            + (f" (order {cart.order_number})" if cart.order_number else ""),
            field="token",
            cart_status=cart.status,
            order_number=cart.order_number,
        )
    if channel is not None:
        catalog.channel_settings(uow, channel)
    if repo.touch_active_cart(uow.session, cart.id, channel or cart.channel, uow.now) is None:
        raise CartNotActive("the cart was closed meanwhile", field="token")
    return cart


def _line(cart: CartView, sku: str) -> CartLineRow:
    line = next((ln for ln in cart.lines if ln.sku == sku), None)
    if line is None:
        raise UnknownCartLine(f"the cart has no line for {sku}", field="sku")
    return line


def _require_customer(uow: UnitOfWork, customer_id: int) -> None:
    if not customers.customer_exists(uow, customer_id):
        raise UnknownCustomer(f"no customer with id {customer_id}", field="customer_id")


def _require_sellable(uow: UnitOfWork, skus: Sequence[str], channel: str) -> None:
    context = pricing.context_for(uow, channel)
    priced = pricing.price_cart(uow, context, [LineRequest(sku, sku, 1) for sku in skus])
    for line in priced.lines:
        if line.name is None:
            raise UnknownSku(f"no SKU with code {line.sku!r}", field="sku")
        if not line.active:
            raise LinesUnavailable(f"{line.sku} is no longer sold", field="sku")
        if not line.priced:
            raise NoPrice(f"{line.sku} has no price on channel {channel}", field="sku")


def _place(
    uow: UnitOfWork,
    cart: CartView,
    sku: str,
    quantity: int,
    location: str | None,
    channel: str,
    actor: str,
) -> HoldRead:
    """Reserves at ``location`` if given, else where the routing rules would ship from."""
    if location is None:
        location = _default_location(uow, sku, quantity, channel)
    elif location not in routing.locations(uow):
        raise UnknownLocation(f"no active location with code {location!r}", field="location")
    try:
        return inventory.reserve_stock(
            uow,
            SaleCreate(
                sku=sku,
                location=location,
                channel=channel,
                quantity=quantity,
                reference=f"cart:{cart.id}",
            ),
            actor=actor,
        )
    except OutOfStock as exc:
        raise _unavailable(uow, sku, quantity, location, channel) from exc
    except ChannelDoesNotSellHere as exc:
        raise LinesUnavailable(
            f"channel {channel} does not sell from {location}",
            field="location",
            **_possible(uow, sku, quantity, location, channel),
        ) from exc


def _default_location(uow: UnitOfWork, sku: str, quantity: int, channel: str) -> str:
    """Where the routing rules would ship ``quantity`` from; expired holds of the SKU are
    released first if they are what stands in the way."""
    for attempt in range(2):
        _version, decision = routing.plan(
            uow,
            [Need(key=sku, sku=sku, quantity=quantity)],
            method=FulfilmentMethod.SHIP_TO_HOME,
            channel=channel,
        )
        if decision.ok and len(decision.assignments) == 1:
            return decision.assignments[0].location
        if attempt or not inventory.release_expired_holds(uow, actor="system:lazy-expiry", sku=sku):
            break
    raise _unavailable(uow, sku, quantity, None, channel)


def _rehold(
    uow: UnitOfWork,
    cart: CartView,
    line: CartLineRow,
    quantity: int,
    location: str | None,
    channel: str,
    actor: str,
) -> None:
    """A new quantity (or place) for a line: the old hold is released and the new one taken
    in the same transaction, so the line never loses units to another buyer in between."""
    _require_sellable(uow, [line.sku], channel)
    _release_quietly(uow, line, actor)
    hold = _place(uow, cart, line.sku, quantity, location or line.location, channel, actor)
    repo.update_cart_line(
        uow.session,
        line.id,
        {
            "quantity": quantity,
            "location_code": hold.location,
            "hold_id": hold.id,
            "hold_expires_at": hold.expires_at,
            "channel_code": channel,
            "updated_at": uow.now,
        },
    )


def _refresh_others(uow: UnitOfWork, cart: CartView, *, skip: set[str], actor: str) -> None:
    for line in cart.lines:
        if line.sku in skip:
            continue
        hold: HoldRead | None = None
        if line.hold_id is not None:
            try:
                hold = inventory.refresh_reservation(uow, line.hold_id, actor=actor)
            except (ReservationExpired, HoldNotActive, UnknownHold):
                hold = None
        if hold is None:
            _release_quietly(uow, line, actor)
            try:
                hold = inventory.reserve_stock(
                    uow,
                    SaleCreate(
                        sku=line.sku,
                        location=line.location,
                        channel=line.channel,
                        quantity=line.quantity,
                        reference=f"cart:{cart.id}",
                    ),
                    actor=actor,
                )
            except (OutOfStock, ChannelDoesNotSellHere):
                hold = None
        repo.update_cart_line(
            uow.session,
            line.id,
            {
                "hold_id": hold.id if hold else None,
                "hold_expires_at": hold.expires_at if hold else None,
            },
        )


def _release_quietly(uow: UnitOfWork, line: CartLineRow, actor: str) -> None:
    """Releases the line's reservation if it is still active (expired ones were or will be
    swept; a reservation already gone has nothing to give back)."""
    if line.hold_id is None:
        return
    with contextlib.suppress(HoldNotActive, UnknownHold):
        inventory.release_reservation(uow, line.hold_id, actor=actor)


def _possible(
    uow: UnitOfWork, sku: str, quantity: int, location: str | None, channel: str
) -> dict[str, Any]:
    sells_from = catalog.channel_settings(uow, channel).location_codes
    rows = availability.availability(uow, [sku])[0].locations
    in_channel = [loc for loc in rows if loc.location in sells_from]
    at_location = next((loc.available for loc in rows if loc.location == location), 0)
    alternatives = [
        {"location": loc.location, "available": loc.available}
        for loc in sorted(in_channel, key=lambda loc: (-loc.available, loc.location))
        if loc.available >= quantity and loc.location != location
    ][:5]
    return {
        "sku": sku,
        "requested": quantity,
        "available_here": at_location,
        "available_in_channel": sum(loc.available for loc in in_channel),
        "max_quantity": max([at_location, *(loc.available for loc in in_channel)]),
        "alternatives": alternatives,
    }


def _unavailable(
    uow: UnitOfWork, sku: str, quantity: int, location: str | None, channel: str
) -> LinesUnavailable:
    possible = _possible(uow, sku, quantity, location, channel)
    where = f" at {location}" if location else " at any one location"
    detail = f"only {possible['available_here'] if location else possible['max_quantity']}"
    detail += f" of {sku} available{where}; requested {quantity}. "
    detail += _instead(
        quantity,
        possible["max_quantity"],
        [LineAlternative(**a) for a in possible["alternatives"]],
    )
    return LinesUnavailable(detail, field="quantity", **possible)


def _instead(quantity: int, max_quantity: int, alternatives: Sequence[LineAlternative]) -> str:
    if alternatives:
        names = ", ".join(f"{a.location} ({a.available})" for a in alternatives)
        return f"{quantity} can be reserved at {names}"
    if max_quantity > 0:
        return f"at most {max_quantity} can be reserved at one location"
    return "none can be reserved now"
