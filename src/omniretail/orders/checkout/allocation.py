"""Checkout's routing and stock steps: the destination, the route (fast when the cart's
reservations already sit where the rules would keep them), ship-from-store capacity, and
turning reservations into allocations."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from omniretail.carts.errors import LinesUnavailable
from omniretail.carts.service import CartLineRow, CartView
from omniretail.catalog.errors import UnknownLocation
from omniretail.catalog.schemas import LocationKind, LocationRead
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.inventory import service as order_holds
from omniretail.inventory.errors import HoldNotActive, OutOfStock, UnknownHold
from omniretail.inventory.schemas import HoldRead, SaleCreate
from omniretail.kernel.ids import new_id
from omniretail.orders.checkout.rows import Placed
from omniretail.orders.errors import (
    InvalidFulfilmentChoice,
)
from omniretail.orders.schemas import (
    FulfilmentChoice,
)
from omniretail.routing import service as routing
from omniretail.routing.errors import NoRoute
from omniretail.routing.service import (
    Decision,
    FulfilmentMethod,
    Inputs,
    Need,
    RouteRequest,
    capacity_limited,
    give_back_capacity,
    local_day,
    route,
    take_capacity_if_left,
)


def destination_of(
    choice: FulfilmentChoice, known: dict[str, LocationRead]
) -> tuple[float, float] | None:
    if choice.pickup_location is not None:
        pickup = known.get(choice.pickup_location)
        if pickup is None:
            raise UnknownLocation(
                f"no active location with code {choice.pickup_location!r}",
                field="fulfilment.pickup_location",
            )
        wanted_kind = LocationKind.LOCKER if choice.method is FulfilmentMethod.LOCKER else None
        if wanted_kind is not None and pickup.kind is not wanted_kind:
            raise InvalidFulfilmentChoice(
                f"{pickup.code} is a {pickup.kind.value}, not a locker",
                field="fulfilment.pickup_location",
            )
        if not pickup.capabilities.pickup:
            raise InvalidFulfilmentChoice(
                f"{pickup.code} does not offer collection", field="fulfilment.pickup_location"
            )
        return (pickup.latitude, pickup.longitude)
    if choice.latitude is not None and choice.longitude is not None:
        return (choice.latitude, choice.longitude)
    return None


def route_cart(
    uow: UnitOfWork,
    cart: CartView,
    choice: FulfilmentChoice,
    channel: str,
    destination: tuple[float, float] | None,
    total: Decimal,
    rules: tuple[int, Any],
    *,
    fast: bool = True,
) -> Decision:
    """Fast path without a read: when every line is held at one location and the rules keep
    reservations (``prefer_reserved``), the full evaluation would choose that location too
    (it covers everything and ranks first), so the rules are evaluated on the held units
    alone. Otherwise live stock and capacity are read."""
    held = {ln.id: ln.held(uow.now) for ln in cart.lines}
    needs = [
        Need(
            key=ln.id,
            sku=ln.sku,
            quantity=ln.quantity,
            held_at=ln.location if held[ln.id] else None,
        )
        for ln in cart.lines
    ]
    own: dict[tuple[str, str], int] = defaultdict(int)
    for ln in cart.lines:
        if held[ln.id]:
            own[(ln.sku, ln.location)] += ln.quantity
    request = RouteRequest(
        needs=needs,
        method=choice.method,
        channel=channel,
        destination=destination,
        pickup_location=choice.pickup_location,
        order_value=total,
    )
    version, rule_set = rules
    one_place = len({ln.location for ln in cart.lines}) == 1
    if fast and rule_set.prefer_reserved and all(held.values()) and one_place:
        kept = route(rule_set, request, Inputs(routing.sites(uow), dict(own), {}))
        if kept.ok and len(kept.assignments) == 1:
            return kept
    _version, decision = routing.plan(
        uow,
        needs,
        method=choice.method,
        channel=channel,
        destination=destination,
        pickup_location=choice.pickup_location,
        order_value=total,
        own_units=own,
        rules=rules,
    )
    if not decision.ok:
        raise NoRoute(
            f"{decision.summary} ({choice.method.value})",
            field="fulfilment",
            unplaced=[{"sku": t.sku, "quantity": t.quantity} for t in decision.unplaced],
            rule_version=version,
        )
    return decision


def placed_for(decision: Decision, cart: CartView) -> list[Placed]:
    by_id = {ln.id: ln for ln in cart.lines}
    return [
        Placed(
            id=new_id(),
            location=a.location,
            method=a.method,
            pickup_location=a.pickup_location,
            takes=[(by_id[t.key], t.quantity) for t in a.takes],
        )
        for a in decision.assignments
    ]


def take_capacity(
    uow: UnitOfWork,
    placed: list[Placed],
    known: dict[str, LocationRead],
    rule_set: Any,
) -> str | None:
    """One conditional increment per ship-from-store fulfilment. Returns the first location
    found full (after giving back what this attempt took), or None when every slot is taken."""
    sites = routing.sites(uow)
    taken: list[tuple[Placed, date]] = []
    for p in placed:
        site = sites[p.location]
        if not capacity_limited(rule_set, p.method, site):
            continue
        day = local_day(uow.now, known[p.location].timezone)
        if not take_capacity_if_left(uow.session, p.location, day, site.daily_capacity):
            for t, taken_day in taken:
                give_back_capacity(uow.session, t.location, taken_day)
                t.capacity_day = None
            return p.location
        p.capacity_day = day
        taken.append((p, day))
    return None


def allocate(
    uow: UnitOfWork,
    placed: list[Placed],
    cart: CartView,
    channel: str,
    number: str,
    actor: str,
) -> dict[tuple[str, str], str]:
    """(fulfilment id, cart line id) -> allocation hold id. Reservations already where they
    are going become allocations in one batch; the rest (moved, split or lapsed) are released
    and allocated afresh at their new location."""
    kept: dict[str, tuple[str, str]] = {}  # hold id -> (fulfilment id, line id)
    for p in placed:
        for line, quantity in p.takes:
            if (
                line.hold_id is not None
                and line.held(uow.now)
                and line.location == p.location
                and quantity == line.quantity
            ):
                kept[line.hold_id] = (p.id, line.id)
    holds: dict[tuple[str, str], str] = {}
    for hold in order_holds.allocate_reservations(uow, list(kept), number, actor=actor):
        holds[kept[hold.id]] = hold.id
    released: set[str] = set()
    for p in placed:
        for line, quantity in p.takes:
            if (p.id, line.id) in holds:
                continue
            if line.hold_id is not None and line.id not in released:
                _release_quietly(uow, line.hold_id, actor)
                released.add(line.id)
            hold = _allocate_fresh(uow, line, p.location, quantity, channel, number, actor)
            holds[(p.id, line.id)] = hold.id
    return holds


def _allocate_fresh(
    uow: UnitOfWork,
    line: CartLineRow,
    location: str,
    quantity: int,
    channel: str,
    number: str,
    actor: str,
) -> HoldRead:
    try:
        return inventory.allocate_stock(
            uow,
            SaleCreate(
                sku=line.sku,
                location=location,
                channel=channel,
                quantity=quantity,
                reference=number,
            ),
            actor=actor,
        )
    except OutOfStock as exc:
        raise LinesUnavailable(
            f"{line.sku} sold out at {location} while checking out; nothing was charged",
            field="lines",
            sku=line.sku,
            location=location,
        ) from exc


def _release_quietly(uow: UnitOfWork, hold_id: str, actor: str) -> None:
    with contextlib.suppress(HoldNotActive, UnknownHold):
        inventory.release_reservation(uow, hold_id, actor=actor)
