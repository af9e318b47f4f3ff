"""Queries over the lots points are held in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from omniretail.db.sql import insert_returning_id
from omniretail.loyalty.models import (
    Lot,
    LotStatus,
)
from omniretail.loyalty.repository.programmes import lots

# --- lots ------------------------------------------------------------------------------------


def insert_lot(session: Session, lot: Lot) -> int:
    """``add_lot`` without the unit of work's flush (one INSERT ... RETURNING id; the lot
    stays outside the session): a purchase's earn. Returns its id."""
    return insert_returning_id(session, lots, lot)


def add_lot(session: Session, lot: Lot) -> Lot:
    session.add(lot)
    session.flush()
    return lot


def get_lot_by_key(session: Session, source_key: str) -> Lot | None:
    return session.scalars(select(Lot).where(Lot.source_key == source_key)).first()


def lock_lot(session: Session, lot_id: int) -> Lot | None:
    return session.scalars(
        select(Lot)
        .where(Lot.id == lot_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def lock_spendable_lots(session: Session, customer_ids: Sequence[int], now: datetime) -> list[Lot]:
    """Available, unexpired lots with points left, soonest expiry first (the spending order)."""
    return list(
        session.scalars(
            select(Lot)
            .where(
                Lot.customer_id.in_(list(customer_ids)),
                Lot.status == LotStatus.AVAILABLE.value,
                Lot.remaining > 0,
                Lot.expires_at > now,
            )
            .order_by(Lot.expires_at, Lot.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def take_from_lot(session: Session, lot_id: int, points: int) -> None:
    session.execute(
        update(lots)
        .where(lots.c.id == lot_id, lots.c.remaining >= points)
        .values(remaining=lots.c.remaining - points)
    )
    session.execute(
        update(lots)
        .where(lots.c.id == lot_id, lots.c.remaining == 0)
        .values(status=LotStatus.CLOSED.value)
    )


def lock_matured_lots(session: Session, now: datetime, limit: int) -> list[Lot]:
    return list(
        session.scalars(
            select(Lot)
            .where(Lot.status == LotStatus.PENDING.value, Lot.available_at <= now)
            .order_by(Lot.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def lock_expired_lots(session: Session, now: datetime, limit: int) -> list[Lot]:
    return list(
        session.scalars(
            select(Lot)
            .where(
                Lot.status == LotStatus.AVAILABLE.value,
                Lot.expires_at <= now,
                Lot.remaining > 0,
            )
            .order_by(Lot.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def lots_of(session: Session, customer_ids: Sequence[int]) -> list[Lot]:
    return list(
        session.scalars(
            select(Lot)
            .where(Lot.customer_id.in_(list(customer_ids)))
            .order_by(Lot.expires_at, Lot.id)
        )
    )


def lot_sums(session: Session) -> dict[tuple[int, str], int]:
    rows = session.execute(
        select(lots.c.customer_id, lots.c.status, func.sum(lots.c.remaining)).group_by(
            lots.c.customer_id, lots.c.status
        )
    )
    return {(int(r[0]), str(r[1])): int(r[2] or 0) for r in rows}
