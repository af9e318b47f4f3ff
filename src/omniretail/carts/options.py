"""Fulfilment options with promise dates, for a cart or for one SKU on a product page.

Both go through ``options_for`` with the same routing rules checkout uses, so an option shown
is one checkout would accept (stock permitting at that moment). Stock and capacity are read
once and every method and pickup point is routed on that snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from omniretail.carts.errors import CartEmpty
from omniretail.carts.schemas import FulfilmentOption, OptionsRead
from omniretail.carts.view import load_cart
from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownSku
from omniretail.catalog.schemas import LocationKind, LocationRead
from omniretail.db.uow import UnitOfWork
from omniretail.inventory.service import haversine_km
from omniretail.pricing import service as pricing
from omniretail.pricing.service import LineRequest
from omniretail.routing import service as routing
from omniretail.routing.service import (
    Decision,
    FulfilmentMethod,
    Need,
    OrderPolicy,
    Promise,
    RouteRequest,
    promise,
    route,
)

M = FulfilmentMethod


def options_for_cart(
    uow: UnitOfWork,
    token: str,
    *,
    latitude: float | None,
    longitude: float | None,
    channel: str | None,
    policy: OrderPolicy,
    radius_km: float = 50.0,
) -> OptionsRead:
    cart = load_cart(uow, token, channel)
    if not cart.lines:
        raise CartEmpty("the cart is empty: no options to offer", field="lines")
    own: dict[tuple[str, str], int] = {}
    needs = []
    for ln in cart.lines:
        held = ln.held(uow.now)
        needs.append(Need(ln.id, ln.sku, ln.quantity, held_at=ln.location if held else None))
        if held:
            own[(ln.sku, ln.location)] = own.get((ln.sku, ln.location), 0) + ln.quantity
    value = cart.priced.gross if cart.priced else Decimal(0)
    return options_for(
        uow,
        needs,
        channel=channel or cart.channel,
        destination=_point(latitude, longitude),
        order_value=value,
        own_units=own,
        policy=policy,
        radius_km=radius_km,
    )


def options_for_sku(
    uow: UnitOfWork,
    sku: str,
    quantity: int,
    *,
    channel: str,
    latitude: float | None,
    longitude: float | None,
    policy: OrderPolicy,
    radius_km: float = 50.0,
) -> OptionsRead:
    priced = pricing.price_cart(
        uow, pricing.context_for(uow, channel), [LineRequest(sku, sku, quantity)]
    )
    if priced.lines[0].name is None:
        raise UnknownSku(f"no SKU with code {sku!r}", field="sku")
    return options_for(
        uow,
        [Need(sku, sku, quantity)],
        channel=channel,
        destination=_point(latitude, longitude),
        order_value=priced.gross,
        own_units={},
        policy=policy,
        radius_km=radius_km,
    )


def options_for(
    uow: UnitOfWork,
    needs: Sequence[Need],
    *,
    channel: str,
    destination: tuple[float, float] | None,
    order_value: Decimal,
    own_units: dict[tuple[str, str], int],
    policy: OrderPolicy,
    radius_km: float,
) -> OptionsRead:
    catalog.channel_settings(uow, channel)
    _version, rules = routing.rules_in_force(uow)
    inputs = routing.gather_inputs(uow, [n.sku for n in needs], own_units)
    known = routing.locations(uow)

    def decide(method: FulfilmentMethod, pickup: str | None) -> Decision:
        request = RouteRequest(
            needs=needs,
            method=method,
            channel=channel,
            destination=destination,
            pickup_location=pickup,
            order_value=order_value,
        )
        return route(rules, request, inputs)

    home = decide(M.SHIP_TO_HOME, None)
    options = [_option(uow, M.SHIP_TO_HOME, home, None, destination, known, policy)]
    for store in _nearby(known, destination, LocationKind.STORE, radius_km, limit=5):
        options.extend(_store_options(uow, decide, store, destination, known, policy))
    for locker in _nearby(known, destination, LocationKind.LOCKER, radius_km, limit=3):
        decision = decide(M.LOCKER, locker.code)
        options.append(_option(uow, M.LOCKER, decision, locker, destination, known, policy))
    # A collection point of its own (kind curbside, e.g. a drive-through with its own stock).
    for point in _nearby(known, destination, LocationKind.CURBSIDE, radius_km, limit=3):
        if point.capabilities.curbside:
            decision = decide(M.CURBSIDE, point.code)
            options.append(_option(uow, M.CURBSIDE, decision, point, destination, known, policy))
    return OptionsRead(
        channel=channel,
        lines=[{"sku": n.sku, "quantity": n.quantity} for n in needs],
        options=options,
    )


def _store_options(
    uow: UnitOfWork,
    decide: Callable[[FulfilmentMethod, str | None], Decision],
    store: LocationRead,
    destination: tuple[float, float] | None,
    known: dict[str, LocationRead],
    policy: OrderPolicy,
) -> list[FulfilmentOption]:
    today = decide(M.PICKUP_IN_STORE, store.code)
    if today.ok:
        found = [_option(uow, M.PICKUP_IN_STORE, today, store, destination, known, policy)]
        if store.capabilities.curbside:  # the same units, handed over at the kerb
            kerb = decide(M.CURBSIDE, store.code)
            found.append(_option(uow, M.CURBSIDE, kerb, store, destination, known, policy))
        return found
    if store.capabilities.ship_to_store_target:
        later = decide(M.SHIP_TO_STORE, store.code)
        return [_option(uow, M.SHIP_TO_STORE, later, store, destination, known, policy)]
    return [_option(uow, M.PICKUP_IN_STORE, today, store, destination, known, policy)]


def _option(
    uow: UnitOfWork,
    method: FulfilmentMethod,
    decision: Decision,
    pickup: LocationRead | None,
    destination: tuple[float, float] | None,
    known: dict[str, LocationRead],
    policy: OrderPolicy,
) -> FulfilmentOption:
    promises = [
        promise(
            a.method,
            uow.now,
            policy,
            source_timezone=known[a.location].timezone,
            pickup_timezone=pickup.timezone if pickup else None,
            pickup_hours=dict(pickup.opening_hours) if pickup else None,
        )
        for a in decision.assignments
    ]
    promised: Promise | None = max(
        promises,
        key=lambda p: (p.date, p.ready_by.timestamp() if p.ready_by else 0.0),
        default=None,
    )
    distance = (
        round(haversine_km(destination[0], destination[1], pickup.latitude, pickup.longitude), 2)
        if pickup is not None and destination is not None
        else None
    )
    return FulfilmentOption(
        method=method,
        available=decision.ok,
        location=pickup.code if pickup else None,
        location_name=pickup.name if pickup else None,
        address=pickup.address if pickup else None,
        distance_km=distance,
        promise_date=promised.date if promised else None,
        ready_by=promised.ready_by if promised else None,
        sources=[a.location for a in decision.assignments],
        detail=decision.summary,
    )


def _nearby(
    known: dict[str, LocationRead],
    destination: tuple[float, float] | None,
    kind: LocationKind,
    radius_km: float,
    *,
    limit: int,
) -> list[LocationRead]:
    found = []
    for loc in known.values():
        if loc.kind is not kind or not loc.capabilities.pickup:
            continue
        distance = (
            haversine_km(destination[0], destination[1], loc.latitude, loc.longitude)
            if destination is not None
            else 0.0
        )
        if distance <= radius_km:
            found.append((distance, loc.code, loc))
    found.sort(key=lambda t: (t[0], t[1]))
    return [loc for _, _, loc in found[:limit]]


def _point(latitude: float | None, longitude: float | None) -> tuple[float, float] | None:
    if latitude is None or longitude is None:
        return None
    return (latitude, longitude)
