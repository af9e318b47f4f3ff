"""Checkout: the cart becomes an order in one transaction.

Steps, all in the caller's unit of work: read the cart with prices (1 statement); route the
lines (no read at all when the cart's reservations already sit where the rules would keep
them); take ship-from-store capacity; close the cart (conditional on the version read, so a
cart changed meanwhile is refused); turn reservations into allocations (or release them and
allocate where routing says); authorise the payment; insert the order, its fulfilments and
lines. Any failure raises, the transaction rolls back (holds as they were, no allocation, no
order) and ``payments.compensating`` voids whatever was authorised.
"""

from __future__ import annotations

import contextlib
import secrets
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownLocation
from omniretail.catalog.models import LocationKind
from omniretail.catalog.schemas import LocationRead
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.inventory import service as order_holds
from omniretail.inventory.errors import HoldNotActive, OutOfStock, UnknownHold
from omniretail.inventory.schemas import HoldRead, SaleCreate
from omniretail.kernel.ids import new_id, new_token
from omniretail.orders import contact, planning
from omniretail.orders import repository as repo
from omniretail.orders.carts import CartLineRow, CartView, load_cart
from omniretail.orders.errors import (
    CardNumberRefused,
    CartChanged,
    CartEmpty,
    CartNotActive,
    InvalidFulfilmentChoice,
    LinesUnavailable,
    NoPrice,
    NoRoute,
    OverCapacity,
    PaymentDeclined,
    PaymentUnavailable,
)
from omniretail.orders.events import order_event
from omniretail.orders.lookup import tracking_path
from omniretail.orders.models import (
    CartStatus,
    FulfilmentMethod,
    FulfilmentStatus,
    LineStatus,
    OrderKind,
    OrderStatus,
)
from omniretail.orders.payments import (
    Declined,
    PaymentProvider,
    ProviderTimeout,
    looks_like_card_number,
)
from omniretail.orders.promises import OrderPolicy, local_day, promise
from omniretail.orders.routing import Decision, Inputs, Need, RouteRequest, capacity_limited, route
from omniretail.orders.schemas import (
    CheckoutCreate,
    FulfilmentChoice,
    FulfilmentRead,
    OrderLineRead,
    OrderRead,
    PaymentRead,
)

_ORDER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_order_number() -> str:
    return "OR-" + "".join(secrets.choice(_ORDER_ALPHABET) for _ in range(10))


@dataclass
class Placed:
    """One fulfilment being created: where, how, and which cart lines (or parts) it takes."""

    id: str
    location: str
    method: FulfilmentMethod
    pickup_location: str | None
    takes: list[tuple[CartLineRow, int]]
    capacity_day: Any = None


def place_order(
    uow: UnitOfWork,
    token: str,
    data: CheckoutCreate,
    *,
    payments: PaymentProvider,
    policy: OrderPolicy,
    actor: str,
) -> OrderRead:
    if looks_like_card_number(data.payment.provider_token):
        raise CardNumberRefused(
            "provider_token looks like a card number; tokenise the card with the payment"
            " provider and send its token",
            field="payment.provider_token",
        )
    cart = load_cart(uow, token, data.channel)
    channel = data.channel or cart.channel
    _require_open(cart)
    catalog.channel_settings(uow, channel)
    total = _total(cart)
    known = planning.locations(uow)
    destination = _destination(data.fulfilment, known)
    version, rule_set = planning.rules_in_force(uow)
    rules = (version, rule_set)
    decision = _route(uow, cart, data.fulfilment, channel, destination, total, rules)
    placed = _placed(decision, cart)
    full = _take_capacity(uow, placed, known, rule_set)
    if full is not None:  # the plan was made without reading capacity: plan again with it
        decision = _route(
            uow, cart, data.fulfilment, channel, destination, total, rules, fast=False
        )
        placed = _placed(decision, cart)
        full = _take_capacity(uow, placed, known, rule_set)
        if full is not None:
            raise OverCapacity(
                f"{full} used all its ship-from-store slots while checking out; try again",
                field="fulfilment",
                location=full,
            )

    number = new_order_number()
    if not repo.close_cart(
        uow.session,
        cart.id,
        expected_version=cart.version,
        status=CartStatus.CHECKED_OUT,
        now=uow.now,
        order_number=number,
    ):
        raise CartChanged(
            "the cart changed while checking out; review it and check out again", field="token"
        )
    holds = _allocate(uow, placed, cart, channel, number, actor)

    try:
        authorisation = payments.authorise(
            data.payment.provider_token, total, "GBP", key=f"checkout:{cart.id}:{cart.version}"
        )
    except Declined as exc:
        raise PaymentDeclined(exc.reason, field="payment.provider_token") from exc
    except ProviderTimeout as exc:
        raise PaymentUnavailable(
            "the payment provider did not answer in time; nothing was charged, try again",
            field="payment",
        ) from exc

    tracking_token = new_token(24)
    delivery = {
        "method": data.fulfilment.method.value,
        "pickup_location": data.fulfilment.pickup_location,
        "latitude": destination[0] if destination else None,
        "longitude": destination[1] if destination else None,
        "address": data.fulfilment.address,
    }
    order_id = repo.insert_order(
        uow.session,
        {
            "number": number,
            "kind": OrderKind.SALE.value,
            "status": OrderStatus.CONFIRMED.value,
            "channel_code": channel,
            "customer_id": cart.customer_id,
            "currency": "GBP",
            "total": total,
            "placed_at": uow.now,
            "tracking_token": tracking_token,
            "cart_id": cart.id,
            **contact.seal(uow.vault, data.contact_email, delivery),
            "payment_provider": payments.name,
            "payment_token": data.payment.provider_token,
            "payment_reference": authorisation.reference,
            "amount_authorised": total,
            "amount_captured": Decimal(0),
            "amount_voided": Decimal(0),
            "routing_version": version,
            "updated_at": uow.now,
        },
    )
    fulfilment_rows = [_fulfilment_row(uow, order_id, p, known, policy) for p in placed]
    repo.insert_fulfilments(uow.session, fulfilment_rows)
    line_rows: list[dict[str, Any]] = []
    for p in placed:
        for line, quantity in p.takes:
            line_rows.append(
                {
                    "order_id": order_id,
                    "line_no": len(line_rows) + 1,
                    "sku_code": line.sku,
                    "description": line.name,
                    "quantity": quantity,
                    "unit_price": line.unit_price,
                    "fulfilment_id": p.id,
                    "hold_id": holds[(p.id, line.id)],
                    "status": LineStatus.OPEN.value,
                    "quantity_returned": 0,
                }
            )
    repo.insert_order_lines(uow.session, line_rows)
    uow.record(
        order_event(
            "order_confirmed",
            number,
            tracking_token=tracking_token,
            customer_id=cart.customer_id,
            channel=channel,
            total=str(total),
            routing_version=version,
            fulfilments=[
                {
                    "id": f["id"],
                    "method": f["method"],
                    "location": f["location_code"],
                    "pickup_location": f["pickup_location_code"],
                    "promised_date": f["promised_date"].isoformat(),
                }
                for f in fulfilment_rows
            ],
            lines=[{"sku": r["sku_code"], "quantity": r["quantity"]} for r in line_rows],
        )
    )
    return OrderRead(
        number=number,
        status=OrderStatus.CONFIRMED.value,
        channel=channel,
        customer_id=cart.customer_id,
        currency="GBP",
        total=total,
        placed_at=uow.now,
        tracking_url=tracking_path(tracking_token),
        contact_email=data.contact_email,
        delivery=delivery,
        payment=PaymentRead(
            provider=payments.name,
            reference=authorisation.reference,
            authorised=total,
            captured=Decimal(0),
            voided=Decimal(0),
            refunded=Decimal("0.00"),
        ),
        routing_version=version,
        lines=[
            OrderLineRead(
                line_no=r["line_no"],
                sku=r["sku_code"],
                name=r["description"],
                quantity=r["quantity"],
                unit_price=r["unit_price"],
                status=r["status"],
                fulfilment_id=r["fulfilment_id"],
                quantity_returned=0,
                returnable=0,
            )
            for r in line_rows
        ],
        fulfilments=[
            FulfilmentRead(
                id=f["id"],
                method=f["method"],
                status=f["status"],
                location=f["location_code"],
                pickup_location=f["pickup_location_code"],
                promised_date=f["promised_date"],
                ready_at=None,
                collect_by=None,
                reminders_sent=0,
                carrier=None,
                tracking_number=None,
                transfer_id=None,
                reason=None,
                next_steps=["accepted", "rejected", "cancelled"],
            )
            for f in fulfilment_rows
        ],
    )


# --- steps -----------------------------------------------------------------------------------


def _require_open(cart: CartView) -> None:
    if cart.status != CartStatus.ACTIVE.value:
        raise CartNotActive(
            f"the cart is {cart.status}"
            + (f" as order {cart.order_number}" if cart.order_number else ""),
            field="token",
            cart_status=cart.status,
            order_number=cart.order_number,
        )
    if not cart.lines:
        raise CartEmpty("add at least one line before checking out", field="lines")


def _total(cart: CartView) -> Decimal:
    unpriced = [ln.sku for ln in cart.lines if ln.unit_price is None or not ln.sku_active]
    if unpriced:
        raise NoPrice(
            f"no price (or no longer sold) on this channel: {', '.join(unpriced)}",
            field="lines",
            skus=unpriced,
        )
    return sum(
        (ln.unit_price * ln.quantity for ln in cart.lines if ln.unit_price is not None),
        Decimal("0.00"),
    )


def _destination(
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


def _route(
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
        kept = route(rule_set, request, Inputs(planning.sites(uow), dict(own), {}))
        if kept.ok and len(kept.assignments) == 1:
            return kept
    _version, decision = planning.plan(
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


def _placed(decision: Decision, cart: CartView) -> list[Placed]:
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


def _take_capacity(
    uow: UnitOfWork,
    placed: list[Placed],
    known: dict[str, LocationRead],
    rule_set: Any,
) -> str | None:
    """One conditional increment per ship-from-store fulfilment. Returns the first location
    found full (after giving back what this attempt took), or None when every slot is taken."""
    sites = planning.sites(uow)
    taken: list[Placed] = []
    for p in placed:
        site = sites[p.location]
        if not capacity_limited(rule_set, p.method, site):
            continue
        day = local_day(uow.now, known[p.location].timezone)
        if not repo.take_capacity_if_left(uow.session, p.location, day, site.daily_capacity):
            for t in taken:
                repo.give_back_capacity(uow.session, t.location, t.capacity_day)
                t.capacity_day = None
            return p.location
        p.capacity_day = day
        taken.append(p)
    return None


def _allocate(
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


def _fulfilment_row(
    uow: UnitOfWork,
    order_id: int,
    p: Placed,
    known: dict[str, LocationRead],
    policy: OrderPolicy,
) -> dict[str, Any]:
    source = known[p.location]
    pickup = known.get(p.pickup_location) if p.pickup_location else None
    promised = promise(
        p.method,
        uow.now,
        policy,
        source_timezone=source.timezone,
        pickup_timezone=pickup.timezone if pickup else None,
        pickup_hours=dict(pickup.opening_hours) if pickup else None,
    )
    return {
        "id": p.id,
        "order_id": order_id,
        "method": p.method.value,
        "status": FulfilmentStatus.CREATED.value,
        "location_code": p.location,
        "pickup_location_code": p.pickup_location,
        "promised_date": promised.date,
        "capacity_day": p.capacity_day,
        "reminders_sent": 0,
        "created_at": uow.now,
        "updated_at": uow.now,
    }
