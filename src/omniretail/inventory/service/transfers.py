"""Transfers between locations: requested -> in transit -> received (or cancelled).

Requesting allocates the units at the source so they cannot be sold twice; shipping moves
them from the source's on hand to the destination's in transit; receiving puts them on hand,
all at once or in parts (the transfer is received when its last unit is).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import repository as repo
from omniretail.inventory import transfer_rows
from omniretail.inventory.errors import (
    IllegalTransferTransition,
    InvalidTransferReceipt,
    OutOfStock,
    UnknownTransfer,
)
from omniretail.inventory.events import (
    TransferCancelled,
    TransferEvent,
    TransferReceived,
    TransferRequested,
    TransferShipped,
)
from omniretail.inventory.events import TransferLine as TransferLineData
from omniretail.inventory.models import MovementKind, Transfer, TransferLine, TransferStatus
from omniretail.inventory.repository import Deltas
from omniretail.inventory.schemas import (
    TransferCreate,
    TransferLineIn,
    TransferLineRead,
    TransferRead,
    TransferReceive,
)
from omniretail.inventory.service.ledger import movement_row, suggest_replenishment_if_low
from omniretail.kernel.ids import new_id


def request_transfer(uow: UnitOfWork, data: TransferCreate, *, actor: str) -> TransferRead:
    session = uow.session
    for field, code in (("from_location", data.from_location), ("to_location", data.to_location)):
        catalog.require_location(uow, code, field=field)
    for i, line in enumerate(data.lines):
        catalog.require_sku(uow, line.sku, field=f"lines.{i}.sku")
    transfer = Transfer(
        id=new_id(),
        from_location=data.from_location,
        to_location=data.to_location,
        status=TransferStatus.REQUESTED.value,
        reference=data.reference,
        requested_by=actor,
        created_at=uow.now,
    )
    transfer_rows.insert_transfer(
        session,
        transfer,
        [
            TransferLine(transfer_id=transfer.id, sku_code=ln.sku, quantity=ln.quantity)
            for ln in data.lines
        ],
    )
    for i, line in enumerate(data.lines):
        deltas = Deltas(allocated=line.quantity)
        after = repo.apply_deltas_if_available(
            session, line.sku, data.from_location, deltas, uow.now, need=line.quantity
        )
        if after is None:
            current = repo.get_counters(session, line.sku, data.from_location)
            free = max(0, current.free) if current else 0
            raise OutOfStock(
                f"only {free} of {line.sku} free at {data.from_location}; transfer asks for"
                f" {line.quantity}",
                field=f"lines.{i}.quantity",
                requested=line.quantity,
                available=free,
            )
        suggest_replenishment_if_low(uow, after, deltas=deltas)
    _ledger(
        uow,
        data.lines,
        data.from_location,
        MovementKind.TRANSFER_REQUEST,
        transfer.id,
        actor,
        lambda q: Deltas(allocated=q),
        f"transfer to {data.to_location} requested",
    )
    uow.record(_event(TransferRequested, transfer.id, transfer, data.lines))
    return get_transfer(uow, transfer.id)


def ship_transfer(uow: UnitOfWork, transfer_id: str, *, actor: str) -> TransferRead:
    transfer, lines = _move(
        uow,
        transfer_id,
        TransferStatus.REQUESTED,
        TransferStatus.IN_TRANSIT,
        {"shipped_at": uow.now},
    )
    for line in lines:
        out = Deltas(on_hand=-line.quantity, allocated=-line.quantity)
        source = repo.apply_deltas_if_available(
            uow.session, line.sku, transfer.from_location, out, uow.now
        )
        assert source is not None, "units allocated to a transfer cannot vanish"
        repo.upsert_deltas(
            uow.session, line.sku, transfer.to_location, Deltas(in_transit=line.quantity), uow.now
        )
    _ledger(
        uow,
        lines,
        transfer.from_location,
        MovementKind.TRANSFER_OUT,
        transfer_id,
        actor,
        lambda q: Deltas(on_hand=-q, allocated=-q),
        f"shipped to {transfer.to_location}",
    )
    # The destination's rows are their own kind: the units are on their way in, not out.
    _ledger(
        uow,
        lines,
        transfer.to_location,
        MovementKind.TRANSFER_IN_TRANSIT,
        transfer_id,
        actor,
        lambda q: Deltas(in_transit=q),
        f"in transit from {transfer.from_location}",
    )
    uow.record(_event(TransferShipped, transfer_id, transfer, lines))
    return get_transfer(uow, transfer_id)


def receive_transfer(
    uow: UnitOfWork,
    transfer_id: str,
    *,
    actor: str,
    receipt: TransferReceive | None = None,
) -> TransferRead:
    """Puts what arrived on hand at the destination: every unit still due, or (``receipt``)
    part of it. The transfer becomes received when its last unit is in; until then it stays
    in transit with the rest still counted in transit. Receipts of one transfer queue on its
    row, and a line never takes more than it holds."""
    transfer = transfer_rows.lock_transfer(uow.session, transfer_id)
    if transfer is None:
        raise UnknownTransfer(f"no transfer with id {transfer_id!r}", field="id")
    if transfer.status != TransferStatus.IN_TRANSIT.value:
        raise IllegalTransferTransition(
            f"transfer {transfer_id} is {transfer.status}; it must be in_transit to be received",
            field="status",
            current_status=transfer.status,
        )
    due = {
        ln.sku_code: ln.quantity - ln.received_quantity
        for ln in transfer_rows.list_transfer_lines(uow.session, transfer_id)
    }
    arriving = _arriving(due, receipt)
    for line in arriving:
        if not transfer_rows.add_received(uow.session, transfer_id, line.sku, line.quantity):
            raise InvalidTransferReceipt(f"{line.sku} has fewer units due", field="lines")
        arrived = repo.apply_deltas_if_available(
            uow.session,
            line.sku,
            transfer.to_location,
            Deltas(on_hand=line.quantity, in_transit=-line.quantity),
            uow.now,
        )
        assert arrived is not None, "units in transit cannot vanish"
    _ledger(
        uow,
        arriving,
        transfer.to_location,
        MovementKind.TRANSFER_IN,
        transfer_id,
        actor,
        lambda q: Deltas(on_hand=q, in_transit=-q),
        f"received from {transfer.from_location}",
    )
    received = {line.sku: line.quantity for line in arriving}
    complete = all(due[sku] == received.get(sku, 0) for sku in due)
    if complete:
        moved = transfer_rows.transition_transfer(
            uow.session,
            transfer_id,
            from_status=TransferStatus.IN_TRANSIT,
            to_status=TransferStatus.RECEIVED,
            values={"received_at": uow.now},
        )
        assert moved, "the transfer's row is locked"
    uow.record(
        TransferReceived(
            transfer_id=transfer_id,
            from_location=transfer.from_location,
            to_location=transfer.to_location,
            lines=[TransferLineData(sku=ln.sku, quantity=ln.quantity) for ln in arriving],
            complete=complete,
        )
    )
    return get_transfer(uow, transfer_id)


def _arriving(due: dict[str, int], receipt: TransferReceive | None) -> list[TransferLineIn]:
    if receipt is None or not receipt.lines:
        return [TransferLineIn(sku=sku, quantity=q) for sku, q in sorted(due.items()) if q > 0]
    for i, line in enumerate(receipt.lines):
        if line.sku not in due:
            raise InvalidTransferReceipt(
                f"{line.sku} is not on this transfer", field=f"lines.{i}.sku"
            )
        if line.quantity > due[line.sku]:
            raise InvalidTransferReceipt(
                f"only {due[line.sku]} of {line.sku} still due; {line.quantity} received",
                field=f"lines.{i}.quantity",
            )
    return sorted(receipt.lines, key=lambda line: line.sku)


def cancel_transfer(uow: UnitOfWork, transfer_id: str, *, actor: str) -> TransferRead:
    transfer, lines = _move(
        uow, transfer_id, TransferStatus.REQUESTED, TransferStatus.CANCELLED, {}
    )
    for line in lines:
        freed = repo.apply_deltas_if_available(
            uow.session, line.sku, transfer.from_location, Deltas(allocated=-line.quantity), uow.now
        )
        assert freed is not None, "units allocated to a transfer cannot vanish"
    _ledger(
        uow,
        lines,
        transfer.from_location,
        MovementKind.TRANSFER_CANCEL,
        transfer_id,
        actor,
        lambda q: Deltas(allocated=-q),
        f"transfer to {transfer.to_location} cancelled",
    )
    uow.record(_event(TransferCancelled, transfer_id, transfer, lines))
    return get_transfer(uow, transfer_id)


def get_transfer(uow: UnitOfWork, transfer_id: str) -> TransferRead:
    transfer = transfer_rows.get_transfer(uow.session, transfer_id)
    if transfer is None:
        raise UnknownTransfer(f"no transfer with id {transfer_id!r}", field="id")
    lines = [
        TransferLineRead(sku=ln.sku_code, quantity=ln.quantity, received=ln.received_quantity)
        for ln in transfer_rows.list_transfer_lines(uow.session, transfer_id)
    ]
    return _read(transfer, lines)


def _read(transfer: Transfer, lines: list[TransferLineRead]) -> TransferRead:
    return TransferRead(
        id=transfer.id,
        from_location=transfer.from_location,
        to_location=transfer.to_location,
        status=transfer.status,
        lines=lines,
        reference=transfer.reference,
        requested_by=transfer.requested_by,
        created_at=transfer.created_at,
        shipped_at=transfer.shipped_at,
        received_at=transfer.received_at,
    )


def _move(
    uow: UnitOfWork,
    transfer_id: str,
    from_status: TransferStatus,
    to_status: TransferStatus,
    values: dict[str, datetime],
) -> tuple[TransferRead, list[TransferLineRead]]:
    current = get_transfer(uow, transfer_id)
    moved = transfer_rows.transition_transfer(
        uow.session, transfer_id, from_status=from_status, to_status=to_status, values=values
    )
    if not moved:
        raise IllegalTransferTransition(
            f"transfer {transfer_id} is {current.status}; it must be {from_status.value} to"
            f" become {to_status.value}",
            field="status",
            current_status=current.status,
        )
    return current, current.lines


def _ledger(
    uow: UnitOfWork,
    lines: Iterable[TransferLineIn | TransferLineRead],
    location: str,
    kind: MovementKind,
    transfer_id: str,
    actor: str,
    deltas_for: Callable[[int], Deltas],
    reason: str,
) -> None:
    repo.insert_movements(
        uow.session,
        [
            movement_row(
                uow, ln.sku, location, kind, deltas_for(ln.quantity), actor, reason, transfer_id
            )
            for ln in lines
        ],
    )


def _event(
    cls: type[TransferEvent],
    transfer_id: str,
    transfer: Transfer | TransferRead,
    lines: Iterable[TransferLineIn | TransferLineRead],
) -> TransferEvent:
    return cls(
        transfer_id=transfer_id,
        from_location=transfer.from_location,
        to_location=transfer.to_location,
        lines=[TransferLineData(sku=ln.sku, quantity=ln.quantity) for ln in lines],
    )


def list_transfers(
    uow: UnitOfWork,
    *,
    status: str | None = None,
    from_location: str | None = None,
    to_location: str | None = None,
    location: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> list[TransferRead]:
    """Newest first (by request time), with their lines; ``location``: either end."""
    rows = transfer_rows.list_transfers(
        uow.session,
        status=status,
        from_location=from_location,
        to_location=to_location,
        location=location,
        since=since,
        until=until,
        offset=offset,
        limit=limit,
    )
    lines: dict[str, list[TransferLineRead]] = {}
    for ln in transfer_rows.lines_of_transfers(uow.session, [t.id for t in rows]):
        lines.setdefault(ln.transfer_id, []).append(
            TransferLineRead(sku=ln.sku_code, quantity=ln.quantity, received=ln.received_quantity)
        )
    return [_read(t, lines.get(t.id, [])) for t in rows]
