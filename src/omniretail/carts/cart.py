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
from dataclasses import replace

from omniretail.carts import repository as repo
from omniretail.carts import tokens
from omniretail.carts.answer import cart_read, possible, unavailable, validate_lines
from omniretail.carts.errors import (
    CartNotActive,
    HoldLimitReached,
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
    CartLineUpdate,
    CartRead,
)
from omniretail.carts.view import CartLineRow, CartView, cart_view, load_cart
from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownLocation, UnknownSku
from omniretail.catalog.schemas import SELF_SERVICE_KINDS
from omniretail.customers import service as customers
from omniretail.customers.errors import UnknownCustomer as UnknownProfile
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.inventory.errors import (
    ChannelDoesNotSellHere,
    HoldNotActive,
    OutOfStock,
    ReservationExpired,
    UnknownHold,
)
from omniretail.inventory.schemas import HoldRead, SaleCreate
from omniretail.kernel.errors import DomainError
from omniretail.kernel.ids import new_id, new_token
from omniretail.pricing import service as pricing
from omniretail.pricing.service import LineRequest, PricedLine
from omniretail.routing import service as routing
from omniretail.routing.service import FulfilmentMethod, Need, RouteRequest

__all__ = [
    "add_line",
    "attach_customer",
    "cart_read",
    "create_cart",
    "find_active_cart",
    "get_cart",
    "refresh_cart",
    "remove_line",
    "update_line",
    "validate_lines",
]


def create_cart(uow: UnitOfWork, data: CartCreate, *, actor: str) -> CartRead:
    """A new cart, or the customer's active cart if they have one (the same on every channel)."""
    catalog.channel_settings(uow, data.channel)
    if data.customer_id is not None:
        # An id merged into another profile names that profile: one cart per person.
        person = _surviving(uow, data.customer_id)
        data = data.model_copy(update={"customer_id": person})
        uow.write_held()  # a cart created earlier in this unit of work
        existing = repo.active_cart_of_customer(uow.session, person)
        if existing is not None:
            return get_cart(uow, tokens.token_of(uow.vault, existing), data.channel)
    cart_id, token = new_id(), new_token(24)
    # Written at commit with the outbox (readers of the cart in this unit of work send it
    # first): the answer is the empty cart as it is written, not read back.
    uow.later_rows(
        repo.carts,
        [
            {
                "id": cart_id,
                **tokens.seal(uow.vault, token),
                "customer_id": data.customer_id,
                "status": CartStatus.ACTIVE.value,
                "channel_code": data.channel,
                "version": 1,
                "merged_into": None,
                "order_number": None,
                "coupon_codes": None,
                "created_at": uow.now,
                "updated_at": uow.now,
            }
        ],
    )
    uow.record(CartCreated(cart_id=cart_id, channel=data.channel, customer_id=data.customer_id))
    context = pricing.context_for(uow, data.channel, customer_id=data.customer_id)
    empty = CartView(
        id=cart_id,
        token=token,
        customer_id=data.customer_id,
        status=CartStatus.ACTIVE.value,
        channel=data.channel,
        version=1,
        merged_into=None,
        order_number=None,
        created_at=uow.now,
        updated_at=uow.now,
        lines=[],
        coupons=(),
        context=context,
        priced=pricing.price_cart(uow, context, []),
    )
    return cart_read(uow, empty, None)


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
    return get_cart(uow, tokens.token_of(uow.vault, cart), price_channel)


def add_line(uow: UnitOfWork, token: str, data: CartLineAdd, *, actor: str) -> CartRead:
    """The cart is priced once, as it will be: that checks the SKU can be sold and is the
    answer, which is built from the rows as written (not read back). The new line and its
    reservation are written at commit with the outbox."""
    cart = _begin_change(uow, token, data.channel)
    channel = data.channel or cart.channel
    existing = next((ln for ln in cart.lines if ln.sku == data.sku), None)
    line_id = existing.id if existing is not None else new_id()
    quantity = data.quantity + (existing.quantity if existing is not None else 0)
    _within_hold_caps(uow, cart, channel, {data.sku: quantity})
    context = cart.context  # read after the change of channel: the answer's
    requests = [
        LineRequest(ln.id, ln.sku, quantity if ln.id == line_id else ln.quantity)
        for ln in cart.lines
    ]
    if existing is None:
        requests.append(LineRequest(line_id, data.sku, quantity))
    quote = pricing.price_cart(uow, context, requests)
    if cart.customer_id is None:  # the context is the channel's own, as the check wants
        _require_sellable_in(quote.line(line_id), channel)
    else:
        _require_sellable_for_customer(uow, quote.line(line_id), channel)
    if existing is not None:
        hold = _rehold(uow, cart, existing, quantity, data.location, channel, actor, checked=True)
    else:
        hold = _place(uow, cart, data.sku, quantity, data.location, channel, actor, later=True)
        uow.later_rows(
            repo.cart_lines,
            [
                {
                    "id": line_id,
                    "cart_id": cart.id,
                    "sku_code": data.sku,
                    "quantity": quantity,
                    "location_code": hold.location,
                    "hold_id": hold.id,
                    "hold_expires_at": hold.expires_at,
                    "channel_code": channel,
                    "created_at": uow.now,
                    "updated_at": uow.now,
                }
            ],
        )
    holds = _refresh_others(uow, cart, skip={data.sku}, actor=actor)
    uow.record(
        CartLineAdded(
            cart_id=cart.id, sku=data.sku, quantity=data.quantity, customer_id=cart.customer_id
        )
    )
    lines = []
    for ln in cart.lines:
        if ln.id in holds:
            held = holds[ln.id]
            ln = replace(
                ln,
                hold_id=held.id if held else None,
                hold_expires_at=held.expires_at if held else None,
            )
        lines.append(ln)
    changed = CartLineRow(
        id=line_id,
        sku=data.sku,
        name=None,
        quantity=quantity,
        location=hold.location,
        hold_id=hold.id,
        hold_expires_at=hold.expires_at,
        channel=channel,
        unit_price=None,
        sku_active=True,
    )
    if existing is None:
        lines.append(changed)
    else:
        lines = [changed if ln.id == line_id else ln for ln in lines]
    after = replace(cart, lines=[_priced(ln, quote.line(ln.id)) for ln in lines], priced=quote)
    return cart_read(uow, after, data.channel)


def _priced(line: CartLineRow, priced: PricedLine) -> CartLineRow:
    return replace(
        line,
        name=priced.name,
        sku_active=priced.active,
        unit_price=priced.unit_price,
        pricing=priced,
    )


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
        _within_hold_caps(uow, cart, channel, {sku: data.quantity})
        _rehold(uow, cart, line, data.quantity, data.location, channel, actor)
    _refresh_others(uow, cart, skip={sku}, actor=actor)
    uow.record(
        CartLineChanged(
            cart_id=cart.id, sku=sku, quantity=data.quantity, customer_id=cart.customer_id
        )
    )
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
    data = data.model_copy(update={"customer_id": _surviving(uow, data.customer_id)})
    cart = _begin_change(uow, token, None)
    if cart.customer_id is not None and _surviving(uow, cart.customer_id) != data.customer_id:
        raise CartNotActive(
            "this cart belongs to another customer", field="customer_id", cart_status=cart.status
        )
    target_row = repo.active_cart_of_customer(uow.session, data.customer_id)
    if target_row is None or target_row.id == cart.id:
        repo.set_cart_customer(uow.session, cart.id, data.customer_id, uow.now)
        uow.record(CartAttached(cart_id=cart.id, customer_id=data.customer_id))
        return get_cart(uow, token)
    target = _begin_change(uow, tokens.token_of(uow.vault, target_row), None)
    merged: dict[str, int] = {}
    for line in cart.lines:
        held = next((ln.quantity for ln in target.lines if ln.sku == line.sku), 0)
        merged[line.sku] = held + line.quantity
    _within_hold_caps(uow, target, target.channel, merged)
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


def _begin_change(uow: UnitOfWork, token: str, channel: str | None) -> CartView:
    """The active cart, its version bumped and its row locked first, then read (unpriced):
    the read sees every change committed before ours took the lock. The view carries the
    version after the bump. On PostgreSQL both are one statement, whose lines are read again
    in the rare case a change was committed while it waited for the lock."""
    if channel is not None:
        try:
            catalog.channel_settings(uow, channel)
        except DomainError:
            _refuse_change(uow, token)  # an unknown or closed cart is the first thing said
            raise
    uow.write_held()  # a cart created earlier in this unit of work
    rows = repo.touched_cart_with_lines(uow.session, token, channel, uow.now)
    if rows is None:  # SQLite: the bump, then the read
        touched = repo.touch_active_cart_by_token(uow.session, token, channel, uow.now)
    else:
        touched = rows[0] if rows else None
    if touched is None:
        _refuse_change(uow, token)
        raise CartNotActive("the cart was closed meanwhile", field="token")
    if rows and rows[0].seen_version + 1 == rows[0].version:  # no change committed meanwhile
        return cart_view(uow, token, rows, priced=False)
    return load_cart(uow, token, priced=False)


def _within_hold_caps(uow: UnitOfWork, cart: CartView, channel: str, asked: dict[str, int]) -> None:
    """Raises ``HoldLimitReached`` when the new quantities (SKU -> units) would make the cart
    hold more than one shopper may on a web or app channel (``uow.hold_caps``). Runs after
    the cart's row is locked (``_begin_change``), so two requests on one cart cannot both
    pass on the same count. A line already above a lowered cap may still go down."""
    if catalog.channel_settings(uow, channel).kind not in SELF_SERVICE_KINDS:
        return
    caps = uow.hold_caps
    before = {ln.sku: ln.quantity for ln in cart.lines}
    for sku, units in asked.items():
        if units > caps.units_per_sku and units > before.get(sku, 0):
            raise HoldLimitReached(
                f"one shopper may hold at most {caps.units_per_sku} of {sku}",
                field="quantity",
                limit=caps.units_per_sku,
            )
    total, was = sum({**before, **asked}.values()), sum(before.values())
    if total > caps.units_per_cart and total > was:
        raise HoldLimitReached(
            f"one shopper may hold at most {caps.units_per_cart} units in all",
            field="quantity",
            limit=caps.units_per_cart,
        )


def _refuse_change(uow: UnitOfWork, token: str) -> None:
    """Raises ``UnknownCart``, or ``CartNotActive`` for a cart that is closed."""
    cart = load_cart(uow, token, priced=False)
    if cart.status != CartStatus.ACTIVE.value:
        raise CartNotActive(
            f"the cart is {cart.status}"
            + (f" (order {cart.order_number})" if cart.order_number else ""),
            field="token",
            cart_status=cart.status,
            order_number=cart.order_number,
        )


def _line(cart: CartView, sku: str) -> CartLineRow:
    line = next((ln for ln in cart.lines if ln.sku == sku), None)
    if line is None:
        raise UnknownCartLine(f"the cart has no line for {sku}", field="sku")
    return line


def _surviving(uow: UnitOfWork, customer_id: int) -> int:
    """The id of the profile ``customer_id`` is now (itself, or the one it was merged into);
    unknown and erased customers are refused."""
    try:
        return customers.resolve_id(uow, customer_id)
    except UnknownProfile:
        raise UnknownCustomer(f"no customer with id {customer_id}", field="customer_id") from None


def _require_sellable(uow: UnitOfWork, skus: Sequence[str], channel: str) -> None:
    context = pricing.context_for(uow, channel)
    priced = pricing.price_cart(uow, context, [LineRequest(sku, sku, 1) for sku in skus])
    for line in priced.lines:
        _require_sellable_in(line, channel)


def _require_sellable_for_customer(uow: UnitOfWork, line: PricedLine, channel: str) -> None:
    """``line`` priced for a customer: a line of a sold SKU priced from the catalog is priced
    in the channel's own context too (its price lists only add candidates to the catalog
    price); any other is priced again without the customer (a list of theirs alone does not
    make the SKU sold on the channel)."""
    if line.name is not None and line.active and line.price_list == pricing.CATALOG_SOURCE:
        return
    _require_sellable(uow, [line.sku], channel)


def _require_sellable_in(line: PricedLine, channel: str) -> None:
    """``line`` priced for the channel's own context (no customer): it exists, is sold and
    has a price there."""
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
    *,
    later: bool = False,
) -> HoldRead:
    """Reserves at ``location`` if given, else where the routing rules would ship from.
    ``later``: the hold row is written at commit (``inventory.reserve_stock``)."""
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
            later=later,
        )
    except OutOfStock as exc:
        raise unavailable(uow, sku, quantity, location, channel) from exc
    except ChannelDoesNotSellHere as exc:
        raise LinesUnavailable(
            f"channel {channel} does not sell from {location}",
            field="location",
            **possible(uow, sku, quantity, location, channel),
        ) from exc


def _default_location(uow: UnitOfWork, sku: str, quantity: int, channel: str) -> str:
    """Where the routing rules would ship ``quantity`` from; expired holds of the SKU are
    released first if they are what stands in the way (not where no units are held in carts:
    a SKU sold out to orders is refused without a write)."""
    request = RouteRequest(
        needs=[Need(key=sku, sku=sku, quantity=quantity)],
        method=FulfilmentMethod.SHIP_TO_HOME,
        channel=channel,
    )
    for attempt in range(2):
        _version, rules = routing.rules_in_force(uow)
        inputs = routing.gather_inputs(uow, [sku])
        decision = routing.route(rules, request, inputs)
        if decision.ok and len(decision.assignments) == 1:
            return decision.assignments[0].location
        if (
            attempt
            or not any(of == sku for of, _location in inputs.reserved)
            or not inventory.release_expired_holds(uow, actor="system:lazy-expiry", sku=sku)
        ):
            break
    # The refusal quotes the stock the decision was made on (nothing was released since).
    available = {code: n for (of, code), n in inputs.available.items() if of == sku}
    raise unavailable(uow, sku, quantity, None, channel, available)


def _rehold(
    uow: UnitOfWork,
    cart: CartView,
    line: CartLineRow,
    quantity: int,
    location: str | None,
    channel: str,
    actor: str,
    *,
    checked: bool = False,
) -> HoldRead:
    """A new quantity (or place) for a line: the old hold is released and the new one taken
    in the same transaction, so the line never loses units to another buyer in between.
    ``checked``: the caller has made sure the SKU is sellable on ``channel``."""
    if not checked:
        _require_sellable(uow, [line.sku], channel)
    _release_quietly(uow, line, actor)
    hold = _place(
        uow, cart, line.sku, quantity, location or line.location, channel, actor, later=True
    )
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
    return hold


def _refresh_others(
    uow: UnitOfWork, cart: CartView, *, skip: set[str], actor: str
) -> dict[str, HoldRead | None]:
    """Every other line's reservation lives another TTL (or is taken again); returns each
    such line's hold by line id (None: it could not be held)."""
    holds: dict[str, HoldRead | None] = {}
    for line in cart.lines:
        if line.sku in skip:
            continue
        hold: HoldRead | None = None
        if line.hold_id is not None:
            try:
                hold = inventory.refresh_reservation(
                    uow, line.hold_id, actor=actor, channel=line.channel
                )
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
        holds[line.id] = hold
    return holds


def _release_quietly(uow: UnitOfWork, line: CartLineRow, actor: str) -> None:
    """Releases the line's reservation if it is still active (expired ones were or will be
    swept; a reservation already gone has nothing to give back)."""
    if line.hold_id is None:
        return
    with contextlib.suppress(HoldNotActive, UnknownHold):
        inventory.release_reservation(uow, line.hold_id, actor=actor)
