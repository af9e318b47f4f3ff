"""What every inventory use case shares: the ledger row and its event, the replenishment
check after a counter change, the reads of counters and holds, and the catalog checks."""

from __future__ import annotations

from typing import Any

from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import repository as repo
from omniretail.inventory.errors import ChannelDoesNotSellHere
from omniretail.inventory.events import (
    Adjusted,
    CountCorrected,
    Received,
    ReplenishmentSuggested,
    Restocked,
    Sold,
    WrittenOff,
)
from omniretail.inventory.models import MovementKind, StockHold
from omniretail.inventory.repository import Counters, Deltas, Hold
from omniretail.inventory.schemas import HoldRead, StockLevelRead

# The event a ledgered movement records (holds record their own events).
_MOVEMENT_EVENTS: dict[MovementKind, Any] = {
    MovementKind.RECEIPT: Received,
    MovementKind.RETURN_RESTOCK: Restocked,
    MovementKind.WRITE_OFF: WrittenOff,
    MovementKind.ADJUSTMENT: Adjusted,
    MovementKind.SALE: Sold,
    MovementKind.CYCLE_COUNT: CountCorrected,
    MovementKind.SENSOR_COUNT: CountCorrected,
}


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


def hold_read(row: Hold | StockHold) -> HoldRead:
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


def record_movement(
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
    later: bool = False,
) -> None:
    """``later``: the ledger row is written at commit with the outbox (``uow.later_rows``)."""
    row = movement_row(
        uow, after.sku_code, after.location_code, kind, deltas, actor, reason, reference
    )
    if later:
        uow.later_rows(repo.movements, [row])
    else:
        repo.insert_movements(uow.session, [row])
    if emit:
        uow.record(
            _MOVEMENT_EVENTS[kind](
                sku=after.sku_code,
                location=after.location_code,
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
        ReplenishmentSuggested(
            sku=after.sku_code,
            location=after.location_code,
            position=after.position,
            reorder_point=after.reorder_point,
            order_up_to=after.order_up_to,
            suggested_quantity=max(1, target - after.position),
        )
    )


def require_sku_and_location(uow: UnitOfWork, sku: str, location: str) -> None:
    catalog.require_sku(uow, sku)
    catalog.require_location(uow, location)


def require_channel_sells_at(
    uow: UnitOfWork, channel_code: str, location: str
) -> catalog.ChannelSettings:
    channel = catalog.channel_settings(uow, channel_code)
    if location not in channel.location_codes:
        catalog.require_location(uow, location)
        raise ChannelDoesNotSellHere(
            f"channel {channel_code} does not sell from location {location}",
            field="location",
        )
    return channel
