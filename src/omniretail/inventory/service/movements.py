"""Movements: receipts, returns put back, write-offs, adjustments, till sales, counts, and
a stock row's replenishment policy. Every counter change is one conditional UPDATE plus one
ledger row in the caller's transaction; a refused change raises before anything is written."""

from __future__ import annotations

from omniretail.db.uow import UnitOfWork
from omniretail.inventory import repository as repo
from omniretail.inventory.errors import CountBelowAllocated
from omniretail.inventory.events import Counted, PolicySet
from omniretail.inventory.models import MovementKind
from omniretail.inventory.repository import Deltas
from omniretail.inventory.schemas import (
    AdjustmentCreate,
    CountCreate,
    PolicyWrite,
    SaleCreate,
    StockChange,
    StockLevelRead,
)
from omniretail.inventory.service.holds import release_cart_holds_to_fit, take_free_units
from omniretail.inventory.service.ledger import (
    record_movement,
    require_channel_sells_at,
    require_sku_and_location,
    stock_level_read,
    suggest_replenishment_if_low,
)


def receive_stock(
    uow: UnitOfWork,
    data: StockChange,
    *,
    actor: str,
    kind: MovementKind = MovementKind.RECEIPT,
) -> StockLevelRead:
    """Units arrive (a receipt, or a return put back on sale)."""
    require_sku_and_location(uow, data.sku, data.location)
    after = repo.upsert_deltas(
        uow.session, data.sku, data.location, Deltas(on_hand=data.quantity), uow.now
    )
    record_movement(
        uow, after, kind, Deltas(on_hand=data.quantity), actor, data.reason, data.reference
    )
    return stock_level_read(after)


def restock_return(uow: UnitOfWork, data: StockChange, *, actor: str) -> StockLevelRead:
    return receive_stock(uow, data, actor=actor, kind=MovementKind.RETURN_RESTOCK)


def write_off(uow: UnitOfWork, data: StockChange, *, actor: str) -> StockLevelRead:
    deltas = Deltas(on_hand=-data.quantity)
    after = take_free_units(uow, data.sku, data.location, deltas, need=data.quantity)
    record_movement(uow, after, MovementKind.WRITE_OFF, deltas, actor, data.reason, data.reference)
    return stock_level_read(after)


def adjust_stock(uow: UnitOfWork, data: AdjustmentCreate, *, actor: str) -> StockLevelRead:
    deltas = Deltas(on_hand=data.quantity_delta)
    if data.quantity_delta > 0:
        require_sku_and_location(uow, data.sku, data.location)
        after = repo.upsert_deltas(uow.session, data.sku, data.location, deltas, uow.now)
    else:
        after = take_free_units(uow, data.sku, data.location, deltas, need=-data.quantity_delta)
    record_movement(uow, after, MovementKind.ADJUSTMENT, deltas, actor, data.reason, data.reference)
    return stock_level_read(after)


def sell_stock(uow: UnitOfWork, data: SaleCreate, *, actor: str) -> StockLevelRead:
    """A sale with no prior hold (a till scan): may use safety stock, never held units."""
    require_channel_sells_at(uow, data.channel, data.location)
    deltas = Deltas(on_hand=-data.quantity)
    after = take_free_units(uow, data.sku, data.location, deltas, need=data.quantity)
    record_movement(
        uow, after, MovementKind.SALE, deltas, actor, f"channel {data.channel}", data.reference
    )
    return stock_level_read(after)


def count_stock(uow: UnitOfWork, data: CountCreate, *, actor: str) -> StockLevelRead:
    """An absolute count from a cycle count or a shelf sensor; the delta goes to the ledger.

    Cart holds that no longer fit are released (newest first); a count below what is already
    allocated to orders is refused, since those orders must be re-routed first."""
    require_sku_and_location(uow, data.sku, data.location)
    session = uow.session
    current = repo.lock_stock_level(session, data.sku, data.location)
    if current is None:
        current = repo.upsert_deltas(session, data.sku, data.location, Deltas(), uow.now)
    if data.counted_quantity < current.allocated:
        raise CountBelowAllocated(
            f"counted {data.counted_quantity} but {current.allocated} units are allocated to"
            " orders at this location; re-route or release those orders first",
            field="counted_quantity",
        )
    released = release_cart_holds_to_fit(
        uow, current, data.counted_quantity - current.allocated, actor
    )
    after = repo.set_on_hand_locked(
        session, data.sku, data.location, data.counted_quantity, -released, uow.now
    )
    delta = data.counted_quantity - current.on_hand
    kind = MovementKind.SENSOR_COUNT if data.source == "sensor" else MovementKind.CYCLE_COUNT
    if delta:
        record_movement(
            uow,
            after,
            kind,
            Deltas(on_hand=delta),
            actor,
            data.source,
            data.reference,
            before=current,
        )
    uow.record(
        Counted(
            sku=data.sku,
            location=data.location,
            counted=data.counted_quantity,
            previous=current.on_hand,
            delta=delta,
            source=data.source,
        )
    )
    return stock_level_read(after)


def set_policy(
    uow: UnitOfWork, sku: str, location: str, data: PolicyWrite, *, actor: str
) -> StockLevelRead:
    require_sku_and_location(uow, sku, location)
    after = repo.upsert_policy(
        uow.session,
        sku,
        location,
        safety_stock=data.safety_stock,
        reorder_point=data.reorder_point,
        order_up_to=data.order_up_to,
        now=uow.now,
    )
    uow.record(PolicySet(sku=sku, location=location, actor=actor, **data.model_dump()))
    suggest_replenishment_if_low(uow, after, force=True)
    return stock_level_read(after)
