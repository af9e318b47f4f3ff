"""The only place that builds queries over the inventory tables.

Counters change only through conditional UPDATEs (``..._if_available``) or under a row lock
(``lock_...``); nothing here reads a counter, computes in Python and writes it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from omniretail.catalog.models import Location
from omniretail.db.batch import insert_rows, kept
from omniretail.db.sql import insert_for, listed, listed_statement, listed_values
from omniretail.inventory.models import (
    HoldKind,
    HoldStatus,
    StockHold,
    StockLevel,
    StockMovement,
)

# Mapped classes expose ``__table__`` as a FromClause; these are plain tables.
levels = cast(Table, StockLevel.__table__)
holds = cast(Table, StockHold.__table__)
movements = cast(Table, StockMovement.__table__)

LEVEL_COLUMNS = (
    levels.c.sku_code,
    levels.c.location_code,
    levels.c.on_hand,
    levels.c.reserved,
    levels.c.allocated,
    levels.c.in_transit,
    levels.c.safety_stock,
    levels.c.reorder_point,
    levels.c.order_up_to,
)


def _counters_of_skus(postgres: bool, count: int) -> Any:
    """The stock rows of ``count`` SKUs (availability, routing): kept per dialect and count."""
    return (
        select(*LEVEL_COLUMNS)
        .where(listed(levels.c.sku_code, "skus", count, postgres, String()))
        .order_by(levels.c.sku_code, levels.c.location_code)
    )


HOLD_COLUMNS = (
    holds.c.id,
    holds.c.kind,
    holds.c.status,
    holds.c.sku_code,
    holds.c.location_code,
    holds.c.channel_code,
    holds.c.quantity,
    holds.c.reference,
    holds.c.expires_at,
    holds.c.created_at,
    holds.c.updated_at,
)


class Hold(NamedTuple):
    """A stock hold as an UPDATE ... RETURNING gives it back (``HOLD_COLUMNS``, in order)."""

    id: str
    kind: str
    status: str
    sku_code: str
    location_code: str
    channel_code: str
    quantity: int
    reference: str | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Counters:
    sku_code: str
    location_code: str
    on_hand: int
    reserved: int
    allocated: int
    in_transit: int
    safety_stock: int
    reorder_point: int | None
    order_up_to: int | None

    @property
    def free(self) -> int:
        """Units not held by anyone (may dip into safety stock)."""
        return self.on_hand - self.reserved - self.allocated

    @property
    def available_to_promise(self) -> int:
        return max(0, self.free - self.safety_stock)

    @property
    def position(self) -> int:
        """Inventory position for replenishment: free units plus what is on its way."""
        return self.free + self.in_transit

    @classmethod
    def from_row(cls, row: Any) -> Counters:
        """From a result row of ``LEVEL_COLUMNS`` (this class's fields, in order)."""
        return cls(*row)


@dataclass(frozen=True)
class Deltas:
    on_hand: int = 0
    reserved: int = 0
    allocated: int = 0
    in_transit: int = 0

    @property
    def position_change(self) -> int:
        return self.on_hand - self.reserved - self.allocated + self.in_transit


def apply_deltas_if_available(
    session: Session,
    sku: str,
    location: str,
    deltas: Deltas,
    now: datetime,
    *,
    need: int = 0,
    keep_safety_stock: bool = False,
) -> Counters | None:
    """One conditional UPDATE: applies ``deltas`` only if ``need`` units are free (beyond
    safety stock when asked). Returns the counters after, or None when the row is missing or
    too few units are free. The CHECK constraints refuse any negative or over-held result."""
    params = {
        "d_sku": sku,
        "d_location": location,
        "d_on_hand": deltas.on_hand,
        "d_reserved": deltas.reserved,
        "d_allocated": deltas.allocated,
        "d_in_transit": deltas.in_transit,
        "d_now": now,
        "d_need": need,
    }
    stmt = _deltas_statement(need > 0, keep_safety_stock)
    row = session.execute(stmt, params).one_or_none()
    return Counters.from_row(row) if row is not None else None


@cache
def _deltas_statement(conditional: bool, keep_safety_stock: bool) -> Any:
    # Built once per shape (the hottest write of carts and checkout): a statement built per
    # call costs SQLAlchemy its cache key every time.
    stmt = (
        update(levels)
        .where(
            levels.c.sku_code == bindparam("d_sku", type_=levels.c.sku_code.type),
            levels.c.location_code == bindparam("d_location", type_=levels.c.location_code.type),
        )
        .values(
            on_hand=levels.c.on_hand + bindparam("d_on_hand", type_=Integer()),
            reserved=levels.c.reserved + bindparam("d_reserved", type_=Integer()),
            allocated=levels.c.allocated + bindparam("d_allocated", type_=Integer()),
            in_transit=levels.c.in_transit + bindparam("d_in_transit", type_=Integer()),
            updated_at=bindparam("d_now", type_=levels.c.updated_at.type),
        )
        .returning(*LEVEL_COLUMNS)
    )
    if conditional:
        free = levels.c.on_hand - levels.c.reserved - levels.c.allocated
        if keep_safety_stock:
            free = free - levels.c.safety_stock
        stmt = stmt.where(free >= bindparam("d_need", type_=Integer()))
    return stmt


def upsert_deltas(
    session: Session, sku: str, location: str, deltas: Deltas, now: datetime
) -> Counters:
    """Adds non-negative deltas, creating the stock row on first receipt (one statement)."""
    ins = insert_for(session)(levels).values(
        sku_code=sku,
        location_code=location,
        on_hand=deltas.on_hand,
        reserved=deltas.reserved,
        allocated=deltas.allocated,
        in_transit=deltas.in_transit,
        safety_stock=0,
        updated_at=now,
    )
    stmt = ins.on_conflict_do_update(
        index_elements=[levels.c.sku_code, levels.c.location_code],
        set_={
            "on_hand": levels.c.on_hand + deltas.on_hand,
            "reserved": levels.c.reserved + deltas.reserved,
            "allocated": levels.c.allocated + deltas.allocated,
            "in_transit": levels.c.in_transit + deltas.in_transit,
            "updated_at": now,
        },
    ).returning(*LEVEL_COLUMNS)
    return Counters.from_row(session.execute(stmt).one())


def lock_stock_level(session: Session, sku: str, location: str) -> Counters | None:
    """SELECT ... FOR UPDATE (SQLite: writers are already serialised by BEGIN IMMEDIATE)."""
    row = session.execute(
        select(*LEVEL_COLUMNS)
        .where(levels.c.sku_code == sku, levels.c.location_code == location)
        .with_for_update()
    ).one_or_none()
    return Counters.from_row(row) if row is not None else None


def set_on_hand_locked(
    session: Session, sku: str, location: str, on_hand: int, reserved_delta: int, now: datetime
) -> Counters:
    """Writes an absolute count; only call with the row locked by ``lock_stock_level``."""
    row = session.execute(
        update(levels)
        .where(levels.c.sku_code == sku, levels.c.location_code == location)
        .values(on_hand=on_hand, reserved=levels.c.reserved + reserved_delta, updated_at=now)
        .returning(*LEVEL_COLUMNS)
    ).one()
    return Counters.from_row(row)


def upsert_policy(
    session: Session,
    sku: str,
    location: str,
    *,
    safety_stock: int,
    reorder_point: int | None,
    order_up_to: int | None,
    now: datetime,
) -> Counters:
    values = {
        "safety_stock": safety_stock,
        "reorder_point": reorder_point,
        "order_up_to": order_up_to,
        "updated_at": now,
    }
    stmt = (
        insert_for(session)(levels)
        .values(sku_code=sku, location_code=location, **values)
        .on_conflict_do_update(
            index_elements=[levels.c.sku_code, levels.c.location_code], set_=values
        )
        .returning(*LEVEL_COLUMNS)
    )
    return Counters.from_row(session.execute(stmt).one())


def get_counters(session: Session, sku: str, location: str) -> Counters | None:
    row = session.execute(
        select(*LEVEL_COLUMNS).where(levels.c.sku_code == sku, levels.c.location_code == location)
    ).one_or_none()
    return Counters.from_row(row) if row is not None else None


def list_counters(
    session: Session,
    skus: Sequence[str] | None = None,
    locations: Iterable[str] | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[Counters]:
    if skus is not None and limit is None:
        # By SKU through the primary key, locations filtered here: with both as IN lists a
        # planner without fresh statistics (SQLite always) may pick the location index and
        # read every SKU at those locations (18 ms instead of 0.3 ms for one SKU at 50).
        wanted = None if locations is None else set(locations)
        return [
            Counters.from_row(r)
            for r in session.execute(
                listed_statement(session, "inventory.counters", len(skus), _counters_of_skus),
                listed_values("skus", skus),
            )
            if wanted is None or r.location_code in wanted
        ]
    stmt = select(*LEVEL_COLUMNS).order_by(levels.c.sku_code, levels.c.location_code)
    if skus is not None:
        stmt = stmt.where(levels.c.sku_code.in_(list(skus)))
    if locations is not None:
        stmt = stmt.where(levels.c.location_code.in_(list(locations)))
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return [Counters.from_row(r) for r in session.execute(stmt)]


def list_stocked_locations(
    session: Session, sku: str, kinds: Sequence[str]
) -> list[tuple[Counters, Location]]:
    """Locations of the given kinds that hold units of ``sku`` available to promise."""
    free = levels.c.on_hand - levels.c.reserved - levels.c.allocated - levels.c.safety_stock
    stmt = (
        select(*LEVEL_COLUMNS, Location)
        .join(Location, Location.code == levels.c.location_code)
        .where(levels.c.sku_code == sku, free > 0, Location.kind.in_(kinds), Location.active)
    )
    result = []
    for row in session.execute(stmt):
        values = row._asdict()
        location = values.pop("Location")
        result.append((Counters(**values), location))
    return result


def move_reserved_to_allocated(
    session: Session, moved: dict[tuple[str, str], int], now: datetime
) -> int:
    """One UPDATE over every (sku, location) in ``moved``: reserved -= n, allocated += n.
    Returns the number of stock rows changed."""
    stmt, params = reserved_to_allocated(moved, now)
    return len(session.execute(stmt, params).all())


# Orders of up to this many stock rows move their counters with a statement built once.
_KEPT_MOVES = 16


def reserved_to_allocated(
    moved: dict[tuple[str, str], int], now: datetime
) -> tuple[Any, dict[str, Any]]:
    """The statement of ``move_reserved_to_allocated`` and its parameters (it returns one row
    per stock row changed)."""
    params: dict[str, Any] = {"alloc_now": now}
    for i, ((sku, location), quantity) in enumerate(moved.items()):
        params[f"alloc_sku_{i}"] = sku
        params[f"alloc_location_{i}"] = location
        params[f"alloc_quantity_{i}"] = quantity
    if len(moved) <= _KEPT_MOVES:
        return _moves_statement(len(moved)), params
    return _moves_statement.__wrapped__(len(moved)), params


@cache
def _moves_statement(rows: int) -> Any:
    # Built once per number of stock rows: the checkout's commit batch is then built once.
    matches = [
        (
            and_(
                levels.c.sku_code == bindparam(f"alloc_sku_{i}", type_=levels.c.sku_code.type),
                levels.c.location_code
                == bindparam(f"alloc_location_{i}", type_=levels.c.location_code.type),
            ),
            bindparam(f"alloc_quantity_{i}", type_=Integer()),
        )
        for i in range(rows)
    ]
    shift = case(*matches, else_=0)
    return kept(
        update(levels)
        .where(or_(*(match for match, _quantity in matches)))
        .values(
            reserved=levels.c.reserved - shift,
            allocated=levels.c.allocated + shift,
            updated_at=bindparam("alloc_now", type_=levels.c.updated_at.type),
        )
        .returning(levels.c.sku_code)
    )


def insert_movements(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """One INSERT into the append-only ledger, compiled once whatever the number of rows."""
    insert_rows(session, movements, rows)


def list_movements(
    session: Session,
    *,
    sku: str | None,
    location: str | None,
    before_id: int | None,
    limit: int,
) -> list[StockMovement]:
    stmt = select(StockMovement).order_by(StockMovement.id.desc()).limit(limit)
    if sku:
        stmt = stmt.where(StockMovement.sku_code == sku)
    if location:
        stmt = stmt.where(StockMovement.location_code == location)
    if before_id:
        stmt = stmt.where(StockMovement.id < before_id)
    return list(session.scalars(stmt))


def insert_hold(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(holds).values(**values))


def get_hold(session: Session, hold_id: str, *, fresh: bool = False) -> StockHold | None:
    """``fresh`` re-reads the row even if the session already holds a copy of it."""
    return session.get(StockHold, hold_id, populate_existing=fresh)


def transition_hold(
    session: Session,
    hold_id: str,
    *,
    kind: HoldKind,
    to_status: HoldStatus,
    now: datetime,
    new_kind: HoldKind | None = None,
    require_unexpired: bool = False,
    new_expires_at: datetime | None = None,
    new_reference: str | None = None,
) -> Hold | None:
    """Moves an active hold on, only if it is still active (and unexpired when asked):
    of two concurrent attempts exactly one wins."""
    params: dict[str, Any] = {
        "h_hold_id": hold_id,
        "h_kind": kind.value,
        "h_status": to_status.value,
        "h_now": now,
        "h_new_kind": new_kind.value if new_kind is not None else None,
        "h_expires_at": new_expires_at,
        "h_reference": new_reference,
    }
    stmt = _transition_statement(
        new_kind is not None,
        new_kind is HoldKind.ORDER,
        new_expires_at is not None,
        new_reference is not None,
        require_unexpired,
    )
    row = session.execute(stmt, params).one_or_none()
    return None if row is None else Hold(*row)


@cache
def _transition_statement(
    sets_kind: bool, clears_expiry: bool, sets_expiry: bool, sets_reference: bool, unexpired: bool
) -> Any:
    # Built once per shape, like ``_deltas_statement``.
    values: dict[str, Any] = {
        "status": bindparam("h_status", type_=holds.c.status.type),
        "updated_at": bindparam("h_now", type_=holds.c.updated_at.type),
    }
    if sets_kind:
        values["kind"] = bindparam("h_new_kind", type_=holds.c.kind.type)
        if clears_expiry:
            values["expires_at"] = null()
    if sets_expiry:
        values["expires_at"] = bindparam("h_expires_at", type_=holds.c.expires_at.type)
    if sets_reference:
        values["reference"] = bindparam("h_reference", type_=holds.c.reference.type)
    stmt = (
        update(holds)
        .where(
            holds.c.id == bindparam("h_hold_id", type_=holds.c.id.type),
            holds.c.kind == bindparam("h_kind", type_=holds.c.kind.type),
            holds.c.status == HoldStatus.ACTIVE.value,
        )
        .values(**values)
        .returning(*HOLD_COLUMNS)
    )
    if unexpired:
        stmt = stmt.where(holds.c.expires_at > bindparam("h_now", type_=holds.c.updated_at.type))
    return stmt


def shrink_hold(
    session: Session, hold_id: str, *, kind: HoldKind, by: int, now: datetime
) -> Hold | None:
    """Conditional: an active hold gives up ``by`` of its units only while some stay held
    (giving up all of them is ending the hold); the row as it is after, or None."""
    row = session.execute(
        update(holds)
        .where(
            holds.c.id == hold_id,
            holds.c.kind == kind.value,
            holds.c.status == HoldStatus.ACTIVE.value,
            holds.c.quantity > by,
        )
        .values(quantity=holds.c.quantity - by, updated_at=now)
        .returning(*HOLD_COLUMNS)
    ).one_or_none()
    return None if row is None else Hold(*row)


def expire_cart_holds(
    session: Session,
    now: datetime,
    *,
    sku: str | None = None,
    location: str | None = None,
    limit: int = 1000,
) -> list[Hold]:
    """Marks expired cart holds expired and returns them; a hold is returned to one caller
    only, so concurrent sweeps never release the same units twice.

    PostgreSQL: the sub-select locks the due holds in id order (``FOR UPDATE``), so two sweeps
    queue behind each other instead of deadlocking; a hold that another transaction ended
    meanwhile is re-checked and skipped. SQLite: writers are serialised anyway."""
    due = (
        select(holds.c.id)
        .where(
            holds.c.status == HoldStatus.ACTIVE.value,
            holds.c.kind == HoldKind.CART.value,
            holds.c.expires_at <= now,
        )
        .order_by(holds.c.id)
        .with_for_update()
    )
    if sku is not None:
        due = due.where(holds.c.sku_code == sku)
    if location is not None:
        due = due.where(holds.c.location_code == location)
    stmt = (
        update(holds)
        .where(holds.c.id.in_(due.limit(limit).scalar_subquery()))
        .where(holds.c.status == HoldStatus.ACTIVE.value)
        .values(status=HoldStatus.EXPIRED.value, updated_at=now)
        .returning(*HOLD_COLUMNS)
    )
    return [Hold(*row) for row in session.execute(stmt)]


def lock_active_cart_holds_in_release_order(
    session: Session, sku: str, location: str, now: datetime
) -> list[StockHold]:
    """Active cart holds, locked, in the order a short count gives them up: already expired
    ones first (they hold nothing a customer still counts on), then the newest."""
    return list(
        session.scalars(
            select(StockHold)
            .where(
                StockHold.sku_code == sku,
                StockHold.location_code == location,
                StockHold.kind == HoldKind.CART.value,
                StockHold.status == HoldStatus.ACTIVE.value,
            )
            .order_by(
                case((StockHold.expires_at <= now, 0), else_=1),
                StockHold.created_at.desc(),
                StockHold.id,
            )
            .with_for_update()
        )
    )


def release_holds(session: Session, hold_ids: Sequence[str], now: datetime) -> None:
    session.execute(
        update(holds)
        .where(holds.c.id.in_(list(hold_ids)), holds.c.status == HoldStatus.ACTIVE.value)
        .values(status=HoldStatus.RELEASED.value, updated_at=now)
    )


def list_holds(
    session: Session, *, reference: str | None, status: str | None, limit: int
) -> list[StockHold]:
    stmt = select(StockHold).order_by(StockHold.created_at.desc()).limit(limit)
    if reference:
        stmt = stmt.where(StockHold.reference == reference)
    if status:
        stmt = stmt.where(StockHold.status == status)
    return list(session.scalars(stmt))
