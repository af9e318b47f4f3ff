"""Reactions to other domains' events (delivered by the outbox relay).

Segments, live: every event that changes one customer's facts re-evaluates that customer
against every saved segment (``service.evaluate_customers``, a relay batch of events
in one transaction), which records
``marketing.segment_entered`` / ``marketing.segment_exited`` for the changes only (so a
redelivered event changes nothing):

- orders: ``order_confirmed`` (every channel, the till's included), ``cancelled``,
  ``refunded``, ``exchanged``
- customers: ``registered``, ``updated``, ``consent_changed``, ``merged``, ``merge_undone``,
  ``erased`` (a merged or erased profile leaves its segments)
- loyalty: ``enrolled``, ``earned``, ``clawed_back``, ``redeemed``, ``redemption_reversed``,
  ``rewarded``, ``expired``, ``tier_changed``
- carts: ``cart_created``, ``line_added``, ``line_changed``, ``attached``, ``merged``

Journeys: ``journeys_triggers`` enters, exits and converts runs on its ``TRIGGER_EVENTS``.

Scores (RFM, CLV, p_alive) change in bulk when intelligence refreshes them: the safety-net
refresh (``omniretail marketing segments refresh``, or the ``marketing.segments_refresh``
job) picks those up.

Retail triggers (``triggers``): inventory movements that can make a SKU available at a
store notify the waiting back-in-stock alerts there; a channel price set or removed may be a
price drop for the customers with the SKU in a cart or recently viewed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omniretail.carts import events as carts
from omniretail.customers import events as customers
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import events as inventory
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault, vault_for
from omniretail.loyalty import events as loyalty
from omniretail.marketing import journeys_triggers, service, triggers
from omniretail.messaging.handlers import (
    EventMeta,
    HandlerRegistry,
    SkipDelivery,
    Skips,
    UowFactory,
)
from omniretail.orders import events as orders

NO_CUSTOMER = "the event is about no customer"
CUSTOMER_EVENTS: tuple[type[Any], ...] = (
    orders.OrderConfirmed,
    orders.OrderCancelled,
    orders.OrderRefunded,
    orders.OrderExchanged,
    customers.Registered,
    customers.Updated,
    customers.ConsentChanged,
    customers.Merged,
    customers.MergeUndone,
    customers.Erased,
    loyalty.Enrolled,
    loyalty.Earned,
    loyalty.ClawedBack,
    loyalty.Redeemed,
    loyalty.RedemptionReversed,
    loyalty.Rewarded,
    loyalty.Expired,
    loyalty.TierChanged,
    carts.CartCreated,
    carts.CartLineAdded,
    carts.CartLineChanged,
    carts.CartAttached,
    carts.CartMerged,
)


def reevaluate(event: Any, uow_factory: UowFactory, vault: PiiVault) -> None:
    """The customers the event is about (a merge's both profiles; a cart line's owner)
    evaluated again, in one transaction; ``SkipDelivery`` when it is about no customer."""
    if reevaluate_many([event], uow_factory, vault):
        raise SkipDelivery(NO_CUSTOMER)


def reevaluate_many(events: Sequence[Any], uow_factory: UowFactory, vault: PiiVault) -> list[int]:
    """``reevaluate`` for a relay batch: every customer the events are about evaluated once,
    in one transaction (the segments locked once); returns the indexes of the events about no
    customer (a guest's order), for the relay to record as skipped."""
    uow: UnitOfWork
    nobody: list[int] = []
    with uow_factory() as uow:
        cart_ids = {
            cart_id
            for event in events
            if getattr(event, "customer_id", None) is None
            and (cart_id := getattr(event, "cart_id", None))
        }
        owners = service.cart_owners(uow, sorted(cart_ids)) if cart_ids else {}
        found: set[int] = set()
        for index, event in enumerate(events):
            ids = [getattr(event, "customer_id", None), getattr(event, "merged_id", None)]
            if ids[0] is None:
                ids[0] = owners.get(getattr(event, "cart_id", None) or "")
            about = {i for i in ids if i}
            if not about:
                nobody.append(index)
            found.update(about)
        if found:
            service.evaluate_customers(uow, sorted(found), vault=vault)
    return nobody


STOCK_MOVEMENTS: tuple[type[Any], ...] = (
    inventory.Received,
    inventory.Restocked,
    inventory.Adjusted,
    inventory.CountCorrected,
    inventory.Counted,
    inventory.ReservationReleased,
    inventory.ReservationExpired,
)
PRICE_CHANGES: tuple[type[Any], ...] = (carts.PriceSet, carts.PriceRemoved)


def stock_moved(event: Any, _meta: EventMeta, uow_factory: UowFactory) -> None:
    """A movement that added units (or freed held ones) at a location."""
    if isinstance(event, inventory.TransferReceived):
        pairs = [(line.sku, event.to_location) for line in event.lines]
    elif isinstance(event, inventory.ReceivedInBulk):
        pairs = []
    else:
        delta = getattr(event, "on_hand_delta", None)
        if delta is None:
            delta = getattr(event, "delta", None)
        if (
            delta is not None
            and delta <= 0
            and not isinstance(event, inventory.ReservationReleased | inventory.ReservationExpired)
        ):
            return
        pairs = [(event.sku, event.location)]
    locations = event.locations if isinstance(event, inventory.ReceivedInBulk) else ()
    uow: UnitOfWork
    with uow_factory() as uow:
        triggers.notify_back_in_stock(uow, pairs, locations=locations)


def price_changed(event: Any, _meta: EventMeta, uow_factory: UowFactory) -> None:
    uow: UnitOfWork
    with uow_factory() as uow:
        triggers.price_changed(uow, event.sku, event.channel)


def install(registry: HandlerRegistry, keyring: Keyring) -> None:
    """``keyring``: the PII vault's, to read birth dates for ``age``."""
    vault = vault_for(keyring)

    def deliver(items: list[tuple[Any, EventMeta]], uow_factory: UowFactory) -> Skips:
        nobody = reevaluate_many([event for event, _ in items], uow_factory, vault)
        return {items[index][1].id: NO_CUSTOMER for index in nobody}

    for event_class in CUSTOMER_EVENTS:
        registry.on_batch(
            event_class, f"marketing.segments.{event_class.type}", deliver, customers_only=True
        )
    for event_class in (*STOCK_MOVEMENTS, inventory.TransferReceived, inventory.ReceivedInBulk):
        registry.on(event_class, f"marketing.back_in_stock.{event_class.type}", stock_moved)
    for event_class in PRICE_CHANGES:
        registry.on(event_class, f"marketing.price_drop.{event_class.type}", price_changed)
    journeys_triggers.install(registry)
