"""The only place that builds queries over transfers and their lines (beside
``inventory.repository``, which keeps the counters, the ledger and holds)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from omniretail.db.sql import rowcount
from omniretail.inventory.models import Transfer, TransferLine, TransferStatus


def insert_transfer(session: Session, transfer: Transfer, lines: Sequence[TransferLine]) -> None:
    session.add(transfer)
    session.flush()
    session.add_all(lines)
    session.flush()


def get_transfer(session: Session, transfer_id: str) -> Transfer | None:
    return session.get(Transfer, transfer_id)


def lock_transfer(session: Session, transfer_id: str) -> Transfer | None:
    """The transfer, its row locked for this transaction (receipts of it queue up)."""
    return session.scalars(
        select(Transfer)
        .where(Transfer.id == transfer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def add_received(session: Session, transfer_id: str, sku: str, quantity: int) -> bool:
    """Counts ``quantity`` more units of the line received, unless that would exceed it."""
    line = TransferLine.__table__.c
    result = session.execute(
        update(TransferLine)
        .where(
            line.transfer_id == transfer_id,
            line.sku_code == sku,
            line.received_quantity + quantity <= line.quantity,
        )
        .values(received_quantity=line.received_quantity + quantity)
    )
    return bool(rowcount(result))


def list_transfers(
    session: Session,
    *,
    status: str | None,
    from_location: str | None,
    to_location: str | None,
    location: str | None,
    since: datetime | None,
    until: datetime | None,
    offset: int,
    limit: int,
) -> list[Transfer]:
    """Newest first. ``location``: either end; ``since``/``until``: when it was requested."""
    stmt = select(Transfer).order_by(Transfer.created_at.desc(), Transfer.id)
    if status:
        stmt = stmt.where(Transfer.status == status)
    if from_location:
        stmt = stmt.where(Transfer.from_location == from_location)
    if to_location:
        stmt = stmt.where(Transfer.to_location == to_location)
    if location:
        stmt = stmt.where((Transfer.from_location == location) | (Transfer.to_location == location))
    if since is not None:
        stmt = stmt.where(Transfer.created_at >= since)
    if until is not None:
        stmt = stmt.where(Transfer.created_at < until)
    return list(session.scalars(stmt.offset(offset).limit(limit)))


def lines_of_transfers(session: Session, transfer_ids: Sequence[str]) -> list[TransferLine]:
    if not transfer_ids:
        return []
    return list(
        session.scalars(
            select(TransferLine)
            .where(TransferLine.transfer_id.in_(transfer_ids))
            .order_by(TransferLine.transfer_id, TransferLine.sku_code)
        )
    )


def list_transfer_lines(session: Session, transfer_id: str) -> list[TransferLine]:
    return list(
        session.scalars(
            select(TransferLine)
            .where(TransferLine.transfer_id == transfer_id)
            .order_by(TransferLine.sku_code)
        )
    )


def transition_transfer(
    session: Session,
    transfer_id: str,
    *,
    from_status: TransferStatus,
    to_status: TransferStatus,
    values: dict[str, Any],
) -> bool:
    result = session.execute(
        update(Transfer)
        .where(Transfer.id == transfer_id, Transfer.status == from_status.value)
        .values(status=to_status.value, **values)
    )
    return bool(rowcount(result))
