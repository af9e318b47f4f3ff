"""Inventory use cases: movements, holds and counts. Services never commit.

Every counter change is one conditional UPDATE plus one ledger row in the caller's
transaction; a refused change raises before anything is written.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from omniretail.catalog import repository as catalog_repo
from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownLocation, UnknownSku
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import repository as repo
from omniretail.inventory.availability import availability as availability
from omniretail.inventory.availability import nearby_stock as nearby_stock
from omniretail.inventory.errors import (
    ChannelDoesNotSellHere,
    CountBelowAllocated,
    HoldNotActive,
    HoldTooSmall,
    OutOfStock,
    ReservationExpired,
    UnknownHold,
)
from omniretail.inventory.events import stock_event
from omniretail.inventory.models import HoldKind, HoldStatus, MovementKind
from omniretail.inventory.repository import Counters, Deltas
from omniretail.inventory.schemas import (
    AdjustmentCreate,
    CountCreate,
    HoldRead,
    MovementRead,
    PolicyWrite,
    SaleCreate,
    StockChange,
    StockLevelRead,
    TransferCreate,
    TransferRead,
)
from omniretail.kernel.ids import new_id


def stock_level_read(c: Counters) -> StockLevelRead:
    return StockLevelRead(
        sku=c.sku_code,
        location=c.location_code,
        on_hand=c.on_hand,
        reserved=c.reserved,
        allocated=c.allocated,
        in_transit=c.in_transit,
        safety_stock=c.safety_stock,
        available=c.available_to_promise,
        reorder_point=c.reorder_point,
        order_up_to=c.order_up_to,
    )


def hold_read(row: Any) -> HoldRead:
    return HoldRead(
        id=row.id,
        kind=row.kind,
        status=row.status,
        sku=row.sku_code,
        location=row.location_code,
        channel=row.channel_code,
        quantity=row.quantity,
        reference=row.reference,
        expires_at=row.expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- movements ---------------------------------------------------------------------------


def receive_stock(
    uow: UnitOfWork,
    data: StockChange,
    *,
    actor: str,
    kind: MovementKind = MovementKind.RECEIPT,
) -> StockLevelRead:
    """Units arrive (a receipt, or a return put back on sale)."""
    _require_sku_and_location(uow, data.sku, data.location)
    after = repo.upsert_deltas(
        uow.session, data.sku, data.location, Deltas(on_hand=data.quantity), uow.now
    )
    _record_movement(
        uow, after, kind, Deltas(on_hand=data.quantity), actor, data.reason, data.reference
    )
    return stock_level_read(after)


def restock_return(uow: UnitOfWork, data: StockChange, *, actor: str) -> StockLevelRead:
    return receive_stock(uow, data, actor=actor, kind=MovementKind.RETURN_RESTOCK)


def write_off(uow: UnitOfWork, data: StockChange, *, actor: str) -> StockLevelRead:
    deltas = Deltas(on_hand=-data.quantity)
    after = _take_free_units(uow, data.sku, data.location, deltas, need=data.quantity)
    _record_movement(uow, after, MovementKind.WRITE_OFF, deltas, actor, data.reason, data.reference)
    return stock_level_read(after)


def adjust_stock(uow: UnitOfWork, data: AdjustmentCreate, *, actor: str) -> StockLevelRead:
    deltas = Deltas(on_hand=data.quantity_delta)
    if data.quantity_delta > 0:
        _require_sku_and_location(uow, data.sku, data.location)
        after = repo.upsert_deltas(uow.session, data.sku, data.location, deltas, uow.now)
    else:
        after = _take_free_units(uow, data.sku, data.location, deltas, need=-data.quantity_delta)
    _record_movement(
        uow, after, MovementKind.ADJUSTMENT, deltas, actor, data.reason, data.reference
    )
    return stock_level_read(after)


def sell_stock(uow: UnitOfWork, data: SaleCreate, *, actor: str) -> StockLevelRead:
    """A sale with no prior hold (a till scan): may use safety stock, never held units."""
    _require_channel_sells_at(uow, data.channel, data.location)
    deltas = Deltas(on_hand=-data.quantity)
    after = _take_free_units(uow, data.sku, data.location, deltas, need=data.quantity)
    _record_movement(
        uow, after, MovementKind.SALE, deltas, actor, f"channel {data.channel}", data.reference
    )
    return stock_level_read(after)


def count_stock(uow: UnitOfWork, data: CountCreate, *, actor: str) -> StockLevelRead:
    """An absolute count from a cycle count or a shelf sensor; the delta goes to the ledger.

    Cart holds that no longer fit are released (newest first); a count below what is already
    allocated to orders is refused, since those orders must be re-routed first."""
    _require_sku_and_location(uow, data.sku, data.location)
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
    released = _release_cart_holds_to_fit(
        uow, current, data.counted_quantity - current.allocated, actor
    )
    after = repo.set_on_hand_locked(
        session, data.sku, data.location, data.counted_quantity, -released, uow.now
    )
    delta = data.counted_quantity - current.on_hand
    kind = MovementKind.SENSOR_COUNT if data.source == "sensor" else MovementKind.CYCLE_COUNT
    if delta:
        _record_movement(
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
        stock_event(
            "counted",
            data.sku,
            data.location,
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
    _require_sku_and_location(uow, sku, location)
    after = repo.upsert_policy(
        uow.session,
        sku,
        location,
        safety_stock=data.safety_stock,
        reorder_point=data.reorder_point,
        order_up_to=data.order_up_to,
        now=uow.now,
    )
    uow.record(stock_event("policy_set", sku, location, actor=actor, **data.model_dump()))
    suggest_replenishment_if_low(uow, after, force=True)
    return stock_level_read(after)


# --- holds: reservations (cart) and allocations (order) ------------------------------------


def reserve_stock(uow: UnitOfWork, data: SaleCreate, *, actor: str) -> HoldRead:
    """A cart hold with the channel's TTL. Never dips into safety stock; expired holds
    never block it (they are released here when the first attempt fails)."""
    channel = _require_channel_sells_at(uow, data.channel, data.location)
    deltas = Deltas(reserved=data.quantity)
    after = _take_free_units(
        uow, data.sku, data.location, deltas, need=data.quantity, keep_safety_stock=True
    )
    expires_at = uow.now + timedelta(seconds=channel.reservation_ttl_seconds)
    hold = _insert_hold(uow, data, HoldKind.CART, expires_at)
    _record_movement(uow, after, MovementKind.RESERVE, deltas, actor, None, hold["id"], emit=False)
    uow.record(
        stock_event(
            "reserved",
            data.sku,
            data.location,
            hold_id=hold["id"],
            quantity=data.quantity,
            channel=data.channel,
            expires_at=expires_at.isoformat(),
            available=after.available_to_promise,
        )
    )
    return HoldRead(**_hold_read_fields(hold))


def allocate_stock(uow: UnitOfWork, data: SaleCreate, *, actor: str) -> HoldRead:
    """An order hold taken directly (e.g. a call-centre order with no cart)."""
    _require_channel_sells_at(uow, data.channel, data.location)
    deltas = Deltas(allocated=data.quantity)
    after = _take_free_units(
        uow, data.sku, data.location, deltas, need=data.quantity, keep_safety_stock=True
    )
    hold = _insert_hold(uow, data, HoldKind.ORDER, None)
    _record_movement(uow, after, MovementKind.ALLOCATE, deltas, actor, None, hold["id"], emit=False)
    uow.record(
        stock_event(
            "allocated",
            data.sku,
            data.location,
            hold_id=hold["id"],
            quantity=data.quantity,
            reference=data.reference,
        )
    )
    return HoldRead(**_hold_read_fields(hold))


def refresh_reservation(uow: UnitOfWork, hold_id: str, *, actor: str) -> HoldRead:
    """Activity on the cart: the hold lives another full TTL from now."""
    hold = _require_hold(uow, hold_id)
    channel = catalog.channel_settings(uow, hold.channel_code)
    row = repo.transition_hold(
        uow.session,
        hold_id,
        kind=HoldKind.CART,
        to_status=HoldStatus.ACTIVE,
        now=uow.now,
        require_unexpired=True,
        new_expires_at=uow.now + timedelta(seconds=channel.reservation_ttl_seconds),
    )
    if row is None:
        raise _why_hold_refused(uow, hold_id, HoldKind.CART)
    uow.record(
        stock_event(
            "reservation_refreshed",
            row.sku_code,
            row.location_code,
            hold_id=hold_id,
            expires_at=row.expires_at.isoformat(),
            actor=actor,
        )
    )
    return hold_read(row)


def release_reservation(uow: UnitOfWork, hold_id: str, *, actor: str) -> HoldRead:
    return _end_hold(
        uow,
        hold_id,
        HoldKind.CART,
        HoldStatus.RELEASED,
        MovementKind.RELEASE,
        "reservation_released",
        actor,
        lambda q: Deltas(reserved=-q),
    )


def sell_reservation(uow: UnitOfWork, hold_id: str, *, actor: str) -> HoldRead:
    """The held units are bought and leave stock (4 SQL statements)."""
    return _end_hold(
        uow,
        hold_id,
        HoldKind.CART,
        HoldStatus.SOLD,
        MovementKind.SALE,
        "sold",
        actor,
        lambda q: Deltas(on_hand=-q, reserved=-q),
        require_unexpired=True,
    )


def allocate_reservation(
    uow: UnitOfWork, hold_id: str, reference: str | None, *, actor: str
) -> HoldRead:
    """Checkout: the cart hold becomes an order hold at the same location, without expiry."""
    row = repo.transition_hold(
        uow.session,
        hold_id,
        kind=HoldKind.CART,
        to_status=HoldStatus.ACTIVE,
        new_kind=HoldKind.ORDER,
        now=uow.now,
        require_unexpired=True,
        new_reference=reference,
    )
    if row is None:
        raise _why_hold_refused(uow, hold_id, HoldKind.CART)
    deltas = Deltas(reserved=-row.quantity, allocated=row.quantity)
    after = repo.apply_deltas_if_available(
        uow.session, row.sku_code, row.location_code, deltas, uow.now
    )
    assert after is not None, "a held stock row cannot vanish"
    _record_movement(uow, after, MovementKind.ALLOCATE, deltas, actor, None, hold_id, emit=False)
    uow.record(
        stock_event(
            "allocated",
            row.sku_code,
            row.location_code,
            hold_id=hold_id,
            quantity=row.quantity,
            reference=row.reference,
        )
    )
    return hold_read(row)


def release_allocation(uow: UnitOfWork, hold_id: str, *, actor: str) -> HoldRead:
    return _end_hold(
        uow,
        hold_id,
        HoldKind.ORDER,
        HoldStatus.RELEASED,
        MovementKind.DEALLOCATE,
        "allocation_released",
        actor,
        lambda q: Deltas(allocated=-q),
    )


def release_part_of_allocation(
    uow: UnitOfWork, hold_id: str, quantity: int, *, actor: str
) -> HoldRead:
    """Some of an order's allocated units are no longer wanted (a partly cancelled order
    line): they become free again and the allocation keeps the rest. Releasing every unit is
    ``release_allocation``."""
    row = repo.shrink_hold(uow.session, hold_id, kind=HoldKind.ORDER, by=quantity, now=uow.now)
    if row is None:
        hold = repo.get_hold(uow.session, hold_id, fresh=True)
        if hold is not None and hold.status == HoldStatus.ACTIVE.value:
            raise HoldTooSmall(
                f"allocation {hold_id} holds {hold.quantity}: giving up {quantity} would leave"
                " nothing (release the allocation instead)",
                field="quantity",
                held=hold.quantity,
            )
        raise _why_hold_refused(uow, hold_id, HoldKind.ORDER)
    deltas = Deltas(allocated=-quantity)
    after = repo.apply_deltas_if_available(
        uow.session, row.sku_code, row.location_code, deltas, uow.now
    )
    assert after is not None, "a held stock row cannot vanish"
    suggest_replenishment_if_low(uow, after, deltas=deltas)
    _record_movement(uow, after, MovementKind.DEALLOCATE, deltas, actor, None, hold_id, emit=False)
    uow.record(
        stock_event(
            "allocation_released",
            row.sku_code,
            row.location_code,
            hold_id=hold_id,
            quantity=quantity,
            remaining=row.quantity,
            channel=row.channel_code,
            reference=row.reference,
            available=after.available_to_promise,
        )
    )
    return hold_read(row)


def fulfil_allocation(uow: UnitOfWork, hold_id: str, *, actor: str) -> HoldRead:
    """The allocated units leave the building (shipped or handed over)."""
    return _end_hold(
        uow,
        hold_id,
        HoldKind.ORDER,
        HoldStatus.FULFILLED,
        MovementKind.FULFIL,
        "fulfilled",
        actor,
        lambda q: Deltas(on_hand=-q, allocated=-q),
    )


def get_hold(uow: UnitOfWork, hold_id: str, kind: HoldKind | None = None) -> HoldRead:
    """One hold; with ``kind``, a hold of the other kind is reported as unknown."""
    hold = _require_hold(uow, hold_id)
    if kind is not None and hold.kind != kind.value:
        noun = "reservation" if kind is HoldKind.CART else "allocation"
        raise UnknownHold(f"no {noun} with id {hold_id!r}", field="id")
    return HoldRead(
        id=hold.id,
        kind=hold.kind,
        status=hold.status,
        sku=hold.sku_code,
        location=hold.location_code,
        channel=hold.channel_code,
        quantity=hold.quantity,
        reference=hold.reference,
        expires_at=hold.expires_at,
        created_at=hold.created_at,
        updated_at=hold.updated_at,
    )


def release_expired_holds(
    uow: UnitOfWork,
    *,
    actor: str,
    sku: str | None = None,
    location: str | None = None,
    limit: int = 1000,
) -> int:
    """Releases expired cart holds (sweeper, and lazily before refusing a reservation)."""
    expired = repo.expire_cart_holds(uow.session, uow.now, sku=sku, location=location, limit=limit)
    if not expired:
        return 0
    by_stock: dict[tuple[str, str], int] = defaultdict(int)
    for row in expired:
        by_stock[(row.sku_code, row.location_code)] += row.quantity
    # Stock rows are locked in key order so two sweeps never wait on each other in a cycle.
    afters = {
        key: repo.apply_deltas_if_available(
            uow.session, key[0], key[1], Deltas(reserved=-by_stock[key]), uow.now
        )
        for key in sorted(by_stock)
    }
    repo.insert_movements(
        uow.session,
        [
            movement_row(
                uow,
                row.sku_code,
                row.location_code,
                MovementKind.EXPIRE,
                Deltas(reserved=-row.quantity),
                actor,
                "reservation expired",
                row.id,
            )
            for row in expired
        ],
    )
    for row in expired:
        after = afters[(row.sku_code, row.location_code)]
        uow.record(
            stock_event(
                "reservation_expired",
                row.sku_code,
                row.location_code,
                hold_id=row.id,
                quantity=row.quantity,
                channel=row.channel_code,
                available=after.available_to_promise if after else None,
            )
        )
    return len(expired)


# --- reads -------------------------------------------------------------------------------


def get_stock_level(uow: UnitOfWork, sku: str, location: str) -> StockLevelRead:
    counters = repo.get_counters(uow.session, sku, location)
    if counters is None:
        _require_sku_and_location(uow, sku, location)
        return stock_level_read(Counters(sku, location, 0, 0, 0, 0, 0, None, None))
    return stock_level_read(counters)


def list_stock_levels(
    uow: UnitOfWork,
    *,
    sku: str | None = None,
    location: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[StockLevelRead]:
    rows = repo.list_counters(
        uow.session,
        [sku] if sku else None,
        [location] if location else None,
        limit=limit,
        offset=offset,
    )
    return [stock_level_read(c) for c in rows]


def list_movements(
    uow: UnitOfWork,
    *,
    sku: str | None = None,
    location: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[MovementRead]:
    rows = repo.list_movements(
        uow.session, sku=sku, location=location, before_id=before_id, limit=limit
    )
    return [
        MovementRead(
            id=m.id,
            sku=m.sku_code,
            location=m.location_code,
            kind=m.kind,
            on_hand_delta=m.on_hand_delta,
            reserved_delta=m.reserved_delta,
            allocated_delta=m.allocated_delta,
            in_transit_delta=m.in_transit_delta,
            reason=m.reason,
            actor=m.actor,
            reference=m.reference,
            created_at=m.created_at,
        )
        for m in rows
    ]


# --- helpers -----------------------------------------------------------------------------


def _take_free_units(
    uow: UnitOfWork,
    sku: str,
    location: str,
    deltas: Deltas,
    *,
    need: int,
    keep_safety_stock: bool = False,
) -> Counters:
    """Applies ``deltas`` if ``need`` units are free; on refusal releases expired holds on
    this stock and tries once more, then explains why it cannot.

    The second attempt runs even when this call released nothing: a concurrent sweep may
    just have released the expired holds (our expiry waited for it and found none left)."""
    session = uow.session
    for attempt in range(2):
        after = repo.apply_deltas_if_available(
            session, sku, location, deltas, uow.now, need=need, keep_safety_stock=keep_safety_stock
        )
        if after is not None:
            suggest_replenishment_if_low(uow, after, deltas=deltas)
            return after
        if attempt == 0:
            release_expired_holds(uow, actor="system:lazy-expiry", sku=sku, location=location)
    current = repo.get_counters(session, sku, location)
    if current is None:
        _require_sku_and_location(uow, sku, location)
        raise OutOfStock(
            f"no stock of {sku} at {location}: requested {need}, available 0",
            field="quantity",
            requested=need,
            available=0,
        )
    available = current.available_to_promise if keep_safety_stock else max(0, current.free)
    raise OutOfStock(
        f"only {available} of {sku} available at {location}; requested {need}",
        field="quantity",
        requested=need,
        available=available,
    )


def _insert_hold(
    uow: UnitOfWork, data: SaleCreate, kind: HoldKind, expires_at: Any
) -> dict[str, Any]:
    values = {
        "id": new_id(),
        "kind": kind.value,
        "status": HoldStatus.ACTIVE.value,
        "sku_code": data.sku,
        "location_code": data.location,
        "channel_code": data.channel,
        "quantity": data.quantity,
        "reference": data.reference,
        "expires_at": expires_at,
        "created_at": uow.now,
        "updated_at": uow.now,
    }
    repo.insert_hold(uow.session, values)
    return values


def _hold_read_fields(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": values["id"],
        "kind": values["kind"],
        "status": values["status"],
        "sku": values["sku_code"],
        "location": values["location_code"],
        "channel": values["channel_code"],
        "quantity": values["quantity"],
        "reference": values["reference"],
        "expires_at": values["expires_at"],
        "created_at": values["created_at"],
        "updated_at": values["updated_at"],
    }


def _end_hold(
    uow: UnitOfWork,
    hold_id: str,
    kind: HoldKind,
    to_status: HoldStatus,
    movement: MovementKind,
    event_name: str,
    actor: str,
    deltas_for: Any,
    *,
    require_unexpired: bool = False,
) -> HoldRead:
    row = repo.transition_hold(
        uow.session,
        hold_id,
        kind=kind,
        to_status=to_status,
        now=uow.now,
        require_unexpired=require_unexpired,
    )
    if row is None:
        raise _why_hold_refused(uow, hold_id, kind)
    deltas: Deltas = deltas_for(row.quantity)
    after = repo.apply_deltas_if_available(
        uow.session, row.sku_code, row.location_code, deltas, uow.now
    )
    assert after is not None, "a held stock row cannot vanish"
    suggest_replenishment_if_low(uow, after, deltas=deltas)
    _record_movement(uow, after, movement, deltas, actor, None, hold_id, emit=False)
    uow.record(
        stock_event(
            event_name,
            row.sku_code,
            row.location_code,
            hold_id=hold_id,
            quantity=row.quantity,
            channel=row.channel_code,
            reference=row.reference,
            available=after.available_to_promise,
        )
    )
    return hold_read(row)


def _why_hold_refused(uow: UnitOfWork, hold_id: str, kind: HoldKind) -> Exception:
    # Read the row as it is now: the session may hold a copy loaded before a concurrent change.
    hold = repo.get_hold(uow.session, hold_id, fresh=True)
    if hold is None or hold.kind != kind.value:
        noun = "reservation" if kind is HoldKind.CART else "allocation"
        return UnknownHold(f"no {noun} with id {hold_id!r}", field="id")
    if hold.status == HoldStatus.ACTIVE.value:
        return ReservationExpired(
            f"reservation {hold_id} expired at {hold.expires_at:%Y-%m-%d %H:%M:%S} UTC;"
            " reserve again",
            field="id",
        )
    return HoldNotActive(
        f"hold {hold_id} is already {hold.status}", field="id", hold_status=hold.status
    )


def _require_hold(uow: UnitOfWork, hold_id: str) -> Any:
    hold = repo.get_hold(uow.session, hold_id)
    if hold is None:
        raise UnknownHold(f"no reservation or allocation with id {hold_id!r}", field="id")
    return hold


def _release_cart_holds_to_fit(
    uow: UnitOfWork, current: Counters, room_for_reservations: int, actor: str
) -> int:
    if current.reserved <= room_for_reservations:
        return 0
    to_free = current.reserved - room_for_reservations
    released: list[Any] = []
    freed = 0
    for hold in repo.lock_active_cart_holds_in_release_order(
        uow.session, current.sku_code, current.location_code, uow.now
    ):
        if freed >= to_free:
            break
        released.append(hold)
        freed += hold.quantity
    repo.release_holds(uow.session, [h.id for h in released], uow.now)
    repo.insert_movements(
        uow.session,
        [
            movement_row(
                uow,
                h.sku_code,
                h.location_code,
                MovementKind.RELEASE,
                Deltas(reserved=-h.quantity),
                actor,
                "count below holds",
                h.id,
            )
            for h in released
        ],
    )
    for h in released:
        uow.record(
            stock_event(
                "reservation_released",
                h.sku_code,
                h.location_code,
                hold_id=h.id,
                quantity=h.quantity,
                reason="count below holds",
            )
        )
    return freed


def movement_row(
    uow: UnitOfWork,
    sku: str,
    location: str,
    kind: MovementKind,
    deltas: Deltas,
    actor: str,
    reason: str | None,
    reference: str | None,
) -> dict[str, Any]:
    return {
        "sku_code": sku,
        "location_code": location,
        "kind": kind.value,
        "on_hand_delta": deltas.on_hand,
        "reserved_delta": deltas.reserved,
        "allocated_delta": deltas.allocated,
        "in_transit_delta": deltas.in_transit,
        "reason": reason,
        "actor": actor,
        "reference": reference,
        "created_at": uow.now,
    }


def _record_movement(
    uow: UnitOfWork,
    after: Counters,
    kind: MovementKind,
    deltas: Deltas,
    actor: str,
    reason: str | None,
    reference: str | None,
    *,
    emit: bool = True,
    before: Counters | None = None,
) -> None:
    repo.insert_movements(
        uow.session,
        [
            movement_row(
                uow, after.sku_code, after.location_code, kind, deltas, actor, reason, reference
            )
        ],
    )
    if emit:
        name = {
            MovementKind.RECEIPT: "received",
            MovementKind.RETURN_RESTOCK: "restocked",
            MovementKind.WRITE_OFF: "written_off",
            MovementKind.ADJUSTMENT: "adjusted",
            MovementKind.SALE: "sold",
            MovementKind.CYCLE_COUNT: "count_corrected",
            MovementKind.SENSOR_COUNT: "count_corrected",
        }[kind]
        uow.record(
            stock_event(
                name,
                after.sku_code,
                after.location_code,
                on_hand_delta=deltas.on_hand,
                on_hand=after.on_hand,
                available=after.available_to_promise,
                reason=reason,
                reference=reference,
                actor=actor,
            )
        )
    if before is not None:
        suggest_replenishment_if_low(uow, after, before=before)


def suggest_replenishment_if_low(
    uow: UnitOfWork,
    after: Counters,
    *,
    deltas: Deltas | None = None,
    before: Counters | None = None,
    force: bool = False,
) -> None:
    """Writes ``replenishment_suggested`` when the position falls to or below the reorder
    point (once per crossing, not on every sale below it)."""
    if after.reorder_point is None:
        return
    previous_position = (
        before.position
        if before is not None
        else after.position - (deltas.position_change if deltas else 0)
    )
    crossed = previous_position > after.reorder_point >= after.position
    if not (crossed or (force and after.position <= after.reorder_point)):
        return
    target = after.order_up_to or 2 * after.reorder_point or 1
    uow.record(
        stock_event(
            "replenishment_suggested",
            after.sku_code,
            after.location_code,
            position=after.position,
            reorder_point=after.reorder_point,
            order_up_to=after.order_up_to,
            suggested_quantity=max(1, target - after.position),
        )
    )


def _require_sku_and_location(uow: UnitOfWork, sku: str, location: str) -> None:
    if catalog_repo.get_sku(uow.session, sku) is None:
        raise UnknownSku(f"no SKU with code {sku!r}", field="sku")
    if catalog_repo.get_location(uow.session, location) is None:
        raise UnknownLocation(f"no location with code {location!r}", field="location")


def _require_channel_sells_at(
    uow: UnitOfWork, channel_code: str, location: str
) -> catalog.ChannelSettings:
    channel = catalog.channel_settings(uow, channel_code)
    if location not in channel.location_codes:
        if catalog_repo.get_location(uow.session, location) is None:
            raise UnknownLocation(f"no location with code {location!r}", field="location")
        raise ChannelDoesNotSellHere(
            f"channel {channel_code} does not sell from location {location}",
            field="location",
        )
    return channel


# --- transfers (``transfers`` builds on this module, so it is imported when called) ----------


def request_transfer(uow: UnitOfWork, data: TransferCreate, *, actor: str) -> TransferRead:
    from omniretail.inventory import transfers

    return transfers.request_transfer(uow, data, actor=actor)


def ship_transfer(uow: UnitOfWork, transfer_id: str, *, actor: str) -> TransferRead:
    from omniretail.inventory import transfers

    return transfers.ship_transfer(uow, transfer_id, actor=actor)


def receive_transfer(uow: UnitOfWork, transfer_id: str, *, actor: str) -> TransferRead:
    from omniretail.inventory import transfers

    return transfers.receive_transfer(uow, transfer_id, actor=actor)


def cancel_transfer(uow: UnitOfWork, transfer_id: str, *, actor: str) -> TransferRead:
    from omniretail.inventory import transfers

    return transfers.cancel_transfer(uow, transfer_id, actor=actor)


def get_transfer(uow: UnitOfWork, transfer_id: str) -> TransferRead:
    from omniretail.inventory import transfers

    return transfers.get_transfer(uow, transfer_id)
