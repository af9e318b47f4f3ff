"""The totals ``inventory verify`` checks the counters against: the ledger's sums, the
active holds, the transfers requested and in transit (whole-table reads, off the hot path)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from omniretail.inventory.models import HoldStatus, Transfer, TransferLine, TransferStatus
from omniretail.inventory.repository import LEVEL_COLUMNS, Counters, holds, movements


def ledger_totals(session: Session) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    m = movements.c
    stmt = select(
        m.sku_code,
        m.location_code,
        func.sum(m.on_hand_delta),
        func.sum(m.reserved_delta),
        func.sum(m.allocated_delta),
        func.sum(m.in_transit_delta),
    ).group_by(m.sku_code, m.location_code)
    return {
        (r[0], r[1]): (int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in session.execute(stmt)
    }


def active_hold_totals(session: Session) -> dict[tuple[str, str, str], int]:
    stmt = (
        select(holds.c.sku_code, holds.c.location_code, holds.c.kind, func.sum(holds.c.quantity))
        .where(holds.c.status == HoldStatus.ACTIVE.value)
        .group_by(holds.c.sku_code, holds.c.location_code, holds.c.kind)
    )
    return {(r[0], r[1], r[2]): int(r[3]) for r in session.execute(stmt)}


def requested_transfer_totals(session: Session) -> dict[tuple[str, str], int]:
    t = Transfer.__table__.c
    lines = TransferLine.__table__.c
    stmt = (
        select(lines.sku_code, t.from_location, func.sum(lines.quantity))
        .join(Transfer.__table__, t.id == lines.transfer_id)
        .where(t.status == TransferStatus.REQUESTED.value)
        .group_by(lines.sku_code, t.from_location)
    )
    return {(r[0], r[1]): int(r[2]) for r in session.execute(stmt)}


def in_transit_totals(session: Session) -> dict[tuple[str, str], int]:
    t = Transfer.__table__.c
    lines = TransferLine.__table__.c
    stmt = (
        select(lines.sku_code, t.to_location, func.sum(lines.quantity - lines.received_quantity))
        .join(Transfer.__table__, t.id == lines.transfer_id)
        .where(t.status == TransferStatus.IN_TRANSIT.value)
        .group_by(lines.sku_code, t.to_location)
    )
    return {(r[0], r[1]): int(r[2]) for r in session.execute(stmt)}


def all_counters(session: Session) -> list[Counters]:
    return [Counters.from_row(r) for r in session.execute(select(*LEVEL_COLUMNS))]
