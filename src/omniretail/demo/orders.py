"""The demo customer's live orders: an open cart and orders in several states, made through
the orders services (carts, checkout, fulfilment steps) in one transaction, so the ledger,
payments and events are exactly what a real customer's would be.

Idempotent: if the demo customer has live orders (ones with a tracking link) nothing is made.
"""

from __future__ import annotations

from dataclasses import dataclass

from omniretail.carts import service as carts
from omniretail.carts.errors import UnknownCart
from omniretail.carts.schemas import CartCreate, CartLineAdd
from omniretail.db.uow import UnitOfWork
from omniretail.demo.errors import TooLittleStock
from omniretail.demo.network import DC, STORES
from omniretail.demo.people import CUSTOMER_EMAIL
from omniretail.demo.pricing import best_sellers
from omniretail.fulfilment import service as cancellation
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import ShipBody
from omniretail.history import service as history
from omniretail.inventory import service as inventory
from omniretail.orders import service as checkout
from omniretail.orders import service as lookup
from omniretail.orders.schemas import (
    CancelBody,
    CheckoutCreate,
    FulfilmentChoice,
    OrderRead,
    PaymentIn,
)
from omniretail.orders.service import PaymentProvider
from omniretail.routing.service import FulfilmentMethod, OrderPolicy

CHANNEL = "WEB"
SHIP_TO_STORE = "DEMO-LDS"  # does not ship itself: parcels come from the DC
PAYMENT_TOKEN = "tok_demo_visa"
WEB_ORDERS = 4  # delivered, cancelled, shipped home, shipped to a store: all from the DC
BASKET_LINES = 3
HOME = {
    "name": "Ada Demo",
    "line1": "12 Demo Crescent",
    "city": "London",
    "postcode": "NW1 4RY",
    "country": "GB",
}
HOME_LAT, HOME_LON = 51.5237, -0.1585


@dataclass(frozen=True)
class DemoOrders:
    created: bool
    orders: list[OrderRead]  # newest first
    cart_token: str | None
    pickup_codes: dict[str, str]  # order number -> code, for orders ready for pickup


def demo_orders_exist(uow: UnitOfWork, customer_id: int) -> bool:
    return any(o.tracking_url for o in lookup.list_orders(uow, customer_id))


def read_demo_orders(uow: UnitOfWork, customer_id: int, *, created: bool = False) -> DemoOrders:
    orders = [o for o in lookup.list_orders(uow, customer_id) if o.tracking_url]
    try:
        token: str | None = carts.find_active_cart(uow, customer_id, None).token
    except UnknownCart:
        token = None
    codes: dict[str, str] = {}
    for order in orders:
        code = next(iter(lookup.pickup_codes(uow, order.number).values()), None)
        if code:
            codes[order.number] = code
    return DemoOrders(created=created, orders=orders, cart_token=token, pickup_codes=codes)


def create_demo_orders(
    uow: UnitOfWork,
    customer_id: int,
    *,
    payments: PaymentProvider,
    policy: OrderPolicy,
    actor: str,
    pickup_store: str | None = None,
) -> DemoOrders:
    """Five orders (shipped home, ready for pickup, ship-to-store in transit, delivered,
    cancelled; the four from the DC baskets of the history's typical quantities, placed after
    the delivery fee is set up) and an open cart with two lines. Raises if the stock cannot
    serve them; the caller's transaction then writes nothing. The click & collect order is a
    basket of the same kind from ``pickup_store``'s shelf (default: the store with the most
    units of a SKU), and waits there."""
    baskets, cart_skus, offered = _baskets(uow)
    pickup_store, _sku = _stocked_store(uow, pickup_store)
    pickup_lines = _shelf_basket(uow, pickup_store, leave_out=offered)

    def order(
        lines: list[tuple[str, int]], choice: FulfilmentChoice, location: str | None = None
    ) -> OrderRead:
        cart = carts.create_cart(
            uow, CartCreate(channel=CHANNEL, customer_id=customer_id), actor=actor
        )
        for sku, quantity in lines:
            carts.add_line(
                uow,
                cart.token,
                CartLineAdd(sku=sku, quantity=quantity, location=location),
                actor=actor,
            )
        return checkout.place_order(
            uow,
            cart.token,
            CheckoutCreate(
                fulfilment=choice,
                payment=PaymentIn(provider_token=PAYMENT_TOKEN),
                contact_email=CUSTOMER_EMAIL,
            ),
            payments=payments,
            policy=policy,
            actor=actor,
        )

    def to_packed(placed: OrderRead) -> str:
        fid = placed.fulfilments[0].id
        fulfilment.accept(uow, fid, actor=actor)
        fulfilment.start_picking(uow, fid, actor=actor)
        fulfilment.pack(uow, fid, actor=actor)
        return fid

    home = FulfilmentChoice(
        method=FulfilmentMethod.SHIP_TO_HOME, latitude=HOME_LAT, longitude=HOME_LON, address=HOME
    )
    delivered = order(baskets[0], home)
    fid = to_packed(delivered)
    fulfilment.ship(
        uow,
        fid,
        ShipBody(carrier="Royal Mail", tracking_number="RM104857362GB"),
        actor=actor,
    )
    fulfilment.deliver(uow, fid, actor=actor)

    cancelled = order(baskets[1], home)
    cancellation.cancel(
        uow,
        cancelled.number,
        CancelBody(reason="customer changed their mind"),
        actor=actor,
    )

    shipped = order(baskets[2], home)
    fulfilment.ship(
        uow,
        to_packed(shipped),
        ShipBody(carrier="DPD", tracking_number="15501234567890"),
        actor=actor,
    )

    to_store = order(
        baskets[3],
        FulfilmentChoice(method=FulfilmentMethod.SHIP_TO_STORE, pickup_location=SHIP_TO_STORE),
    )
    fulfilment.ship(
        uow,
        to_packed(to_store),
        ShipBody(carrier="Demo fleet", tracking_number="TRF-LDS-0001"),
        actor=actor,
    )

    pickup = order(
        pickup_lines,
        FulfilmentChoice(method=FulfilmentMethod.PICKUP_IN_STORE, pickup_location=pickup_store),
        location=pickup_store,
    )
    fulfilment.ready_for_pickup(uow, to_packed(pickup), policy=policy, actor=actor)

    cart = carts.create_cart(uow, CartCreate(channel=CHANNEL, customer_id=customer_id), actor=actor)
    for sku in cart_skus:
        carts.add_line(uow, cart.token, CartLineAdd(sku=sku, quantity=1), actor=actor)
    return read_demo_orders(uow, customer_id, created=True)


def _baskets(uow: UnitOfWork) -> tuple[list[list[tuple[str, int]]], list[str], set[str]]:
    """The web orders' baskets from the DC (``WEB_ORDERS`` of up to ``BASKET_LINES`` lines), the
    open cart's SKUs and the best sellers "Buy 3 pay 2" will take. The baskets hold the SKUs
    with the most units free there, each line as many units as a sale line of that SKU held
    most often in the history, as far as the DC's stock allows every basket that takes it (a
    unit of each cart SKU left free)."""
    levels = inventory.list_stock_levels(uow, location=DC, limit=100_000)
    ranked = sorted(
        ((lv.sku, lv.available) for lv in levels if lv.available >= 2),
        key=lambda item: (-item[1], item[0]),
    )
    cart_skus = [sku for sku, _ in ranked[:2]]
    # The best sellers "Buy 3 pay 2" will take stay whole for the tour's baskets.
    offered = set(best_sellers(uow, leave_out=set(cart_skus)))
    free = dict([item for item in ranked if item[0] not in offered][: 2 * BASKET_LINES])
    if len(free) < 2:
        raise TooLittleStock(
            f"{DC} holds too few SKUs with 2 units free for the demo orders", field="location"
        )
    pool = list(free)
    width = min(BASKET_LINES, len(pool))
    chosen = [[pool[(n * width + i) % len(pool)] for i in range(width)] for n in range(WEB_ORDERS)]
    uses = {sku: sum(basket.count(sku) for basket in chosen) for sku in pool}
    typical = history.typical_line_quantities(uow, pool)
    units = {
        sku: max(1, min(typical.get(sku, 1), (free[sku] - (sku in cart_skus)) // max(uses[sku], 1)))
        for sku in pool
    }
    return [[(sku, units[sku]) for sku in basket] for basket in chosen], cart_skus, offered


def _shelf_basket(uow: UnitOfWork, store: str, *, leave_out: set[str]) -> list[tuple[str, int]]:
    """The click & collect basket: up to ``BASKET_LINES`` of ``store``'s SKUs with the most
    units free (those in ``leave_out`` only if no other is), each line as many units as a sale
    line of that SKU held most often in the history, a unit left on the shelf where it can."""
    levels = inventory.list_stock_levels(uow, location=store, limit=100_000)
    ranked = sorted(
        ((lv.sku, lv.available) for lv in levels if lv.available >= 1),
        key=lambda item: (-item[1], item[0]),
    )
    chosen = ([item for item in ranked if item[0] not in leave_out] or ranked)[:BASKET_LINES]
    typical = history.typical_line_quantities(uow, [sku for sku, _ in chosen])
    return [(sku, max(1, min(typical.get(sku, 1), available - 1))) for sku, available in chosen]


def pickup_store(uow: UnitOfWork) -> str:
    """Where the demo's click & collect order will wait (see ``_stocked_store``)."""
    return _stocked_store(uow)[0]


def other_store(store_code: str) -> str:
    """A second store for the tour's return: the first demo store that is not ``store_code``."""
    return next(s.code for s in STORES if s.code != store_code)


def _stocked_store(uow: UnitOfWork, only: str | None = None) -> tuple[str, str]:
    """The store (web-sold, so click & collect can take its shelf) and SKU with the most
    units free; ``only``: that store's SKU with the most units free."""
    best: tuple[int, str, str] | None = None
    for store in STORES:
        if not store.ships_from_store or (only is not None and store.code != only):
            continue
        for lv in inventory.list_stock_levels(uow, location=store.code, limit=100_000):
            if lv.available >= 1 and (best is None or lv.available > best[0]):
                best = (lv.available, store.code, lv.sku)
    if best is None:
        raise TooLittleStock("no store holds a free unit for the demo's click & collect order")
    return best[1], best[2]
