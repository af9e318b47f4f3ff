"""Holds: cart reservations (with a TTL) and order allocations, and the sweep of expired
reservations. A hold moves its units between the counters in the caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from omniretail.catalog import service as catalog
from omniretail.db.sql import is_postgres
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import repository as repo
from omniretail.inventory import reserve_rows
from omniretail.inventory.errors import (
    HoldNotActive,
    HoldTooSmall,
    OutOfStock,
    ReservationExpired,
    UnknownHold,
)
from omniretail.inventory.events import (
    Allocated,
    AllocationReleased,
    Fulfilled,
    ReservationRefreshed,
    ReservationReleased,
    Reserved,
    Sold,
    StockEvent,
)
from omniretail.inventory.events import ReservationExpired as ReservationExpiredEvent
from omniretail.inventory.models import HoldKind, HoldStatus, MovementKind, StockHold
from omniretail.inventory.repository import Counters, Deltas
from omniretail.inventory.schemas import HoldRead, SaleCreate
from omniretail.inventory.service.ledger import (
    hold_read,
    movement_row,
    record_movement,
    require_channel_sells_at,
    require_sku_and_location,
    suggest_replenishment_if_low,
)
from omniretail.kernel.ids import new_id


def reserve_stock(
    uow: UnitOfWork,
    data: SaleCreate,
    *,
    actor: str,
    later: bool = False,
    at_once: bool = False,
) -> HoldRead:
    """A cart hold with the channel's TTL. Never dips into safety stock; expired holds
    never block it (they are released here when the first attempt fails). ``later``: the
    hold row is written at commit with the outbox (``uow.later_rows``), for a caller that
    does not read it back in this unit of work before sending what it holds. ``at_once``
    (PostgreSQL; implies ``later``): the stock row is taken at commit too, in one statement
    with the hold and the event (``inventory.reserve_rows``); a refusal then fails the
    commit (``reserve_refused``) and the caller reserves again without it."""
    channel = require_channel_sells_at(uow, data.channel, data.location)
    expires_at = uow.now + timedelta(seconds=channel.reservation_ttl_seconds)
    deltas = Deltas(reserved=data.quantity)
    if at_once and is_postgres(uow.session):
        hold = _hold_values(uow, data, HoldKind.CART, expires_at)
        event = _reserved(data, hold["id"], expires_at, available=0)  # set by the statement
        uow.later(reserve_rows.RESERVE, reserve_rows.reserve_params(hold, uow.outbox_row(event)))
        uow.later_rows(
            repo.movements,
            [
                movement_row(
                    uow,
                    data.sku,
                    data.location,
                    MovementKind.RESERVE,
                    deltas,
                    actor,
                    None,
                    hold["id"],
                )
            ],
        )
        return HoldRead(**_hold_read_fields(hold))
    after = take_free_units(
        uow, data.sku, data.location, deltas, need=data.quantity, keep_safety_stock=True
    )
    hold = _insert_hold(uow, data, HoldKind.CART, expires_at, later=later or at_once)
    record_movement(
        uow,
        after,
        MovementKind.RESERVE,
        deltas,
        actor,
        None,
        hold["id"],
        emit=False,
        later=later or at_once,
    )
    uow.record(_reserved(data, hold["id"], expires_at, available=after.available_to_promise))
    return HoldRead(**_hold_read_fields(hold))


def reserve_refused(exc: BaseException) -> bool:
    """Whether ``exc`` (from the commit of ``reserve_stock(..., at_once=True)``) is its
    refusal: nothing was written, and ``reserve_stock`` without ``at_once`` says why."""
    return reserve_rows.refused(exc)


def _reserved(data: SaleCreate, hold_id: str, expires_at: Any, *, available: int) -> Reserved:
    return Reserved(
        sku=data.sku,
        location=data.location,
        hold_id=hold_id,
        quantity=data.quantity,
        channel=data.channel,
        expires_at=expires_at.isoformat(),
        available=available,
    )


def allocate_stock(uow: UnitOfWork, data: SaleCreate, *, actor: str) -> HoldRead:
    """An order hold taken directly (e.g. a call-centre order with no cart)."""
    require_channel_sells_at(uow, data.channel, data.location)
    deltas = Deltas(allocated=data.quantity)
    after = take_free_units(
        uow, data.sku, data.location, deltas, need=data.quantity, keep_safety_stock=True
    )
    hold = _insert_hold(uow, data, HoldKind.ORDER, None)
    record_movement(uow, after, MovementKind.ALLOCATE, deltas, actor, None, hold["id"], emit=False)
    uow.record(
        Allocated(
            sku=data.sku,
            location=data.location,
            hold_id=hold["id"],
            quantity=data.quantity,
            reference=data.reference,
        )
    )
    return HoldRead(**_hold_read_fields(hold))


def refresh_reservation(
    uow: UnitOfWork, hold_id: str, *, actor: str, channel: str | None = None
) -> HoldRead:
    """Activity on the cart: the hold lives another full TTL from now. ``channel``: the
    hold's channel when the caller knows it (a cart line's), which spares reading the hold
    first (a hold that is gone or not active is then found out by the refusal)."""
    if channel is None:
        channel = _require_hold(uow, hold_id).channel_code
    settings = catalog.channel_settings(uow, channel)
    row = repo.transition_hold(
        uow.session,
        hold_id,
        kind=HoldKind.CART,
        to_status=HoldStatus.ACTIVE,
        now=uow.now,
        require_unexpired=True,
        new_expires_at=uow.now + timedelta(seconds=settings.reservation_ttl_seconds),
    )
    if row is None:
        raise _why_hold_refused(uow, hold_id, HoldKind.CART)
    assert row.expires_at is not None, "a refreshed cart hold has an expiry"
    uow.record(
        ReservationRefreshed(
            sku=row.sku_code,
            location=row.location_code,
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
        ReservationReleased,
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
        Sold,
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
    record_movement(uow, after, MovementKind.ALLOCATE, deltas, actor, None, hold_id, emit=False)
    uow.record(
        Allocated(
            sku=row.sku_code,
            location=row.location_code,
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
        AllocationReleased,
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
    record_movement(uow, after, MovementKind.DEALLOCATE, deltas, actor, None, hold_id, emit=False)
    uow.record(
        AllocationReleased(
            sku=row.sku_code,
            location=row.location_code,
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
        Fulfilled,
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
            ReservationExpiredEvent(
                sku=row.sku_code,
                location=row.location_code,
                hold_id=row.id,
                quantity=row.quantity,
                channel=row.channel_code,
                available=after.available_to_promise if after else None,
            )
        )
    return len(expired)


def take_free_units(
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
        require_sku_and_location(uow, sku, location)
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
    uow: UnitOfWork, data: SaleCreate, kind: HoldKind, expires_at: Any, *, later: bool = False
) -> dict[str, Any]:
    values = _hold_values(uow, data, kind, expires_at)
    if later:
        uow.later_rows(repo.holds, [values])
    else:
        repo.insert_hold(uow.session, values)
    return values


def _hold_values(
    uow: UnitOfWork, data: SaleCreate, kind: HoldKind, expires_at: Any
) -> dict[str, Any]:
    return {
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
    event: Callable[..., StockEvent],
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
    record_movement(uow, after, movement, deltas, actor, None, hold_id, emit=False)
    uow.record(
        event(
            sku=row.sku_code,
            location=row.location_code,
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


def _require_hold(uow: UnitOfWork, hold_id: str) -> StockHold:
    hold = repo.get_hold(uow.session, hold_id)
    if hold is None:
        raise UnknownHold(f"no reservation or allocation with id {hold_id!r}", field="id")
    return hold


def release_cart_holds_to_fit(
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
            ReservationReleased(
                sku=h.sku_code,
                location=h.location_code,
                hold_id=h.id,
                quantity=h.quantity,
                reason="count below holds",
            )
        )
    return freed
