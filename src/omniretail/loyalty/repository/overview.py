"""Programme-wide aggregates for the overview: two statements, whatever the member count."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from omniretail.loyalty.models import EntryKind, LotStatus
from omniretail.loyalty.repository.programmes import accounts, entries, lots


class TierTotals(NamedTuple):
    tier: str
    members: int
    available: int
    pending: int
    owed: int


class Movements(NamedTuple):
    expiring: int
    earned: int
    redeemed: int


def tier_totals(session: Session) -> list[TierTotals]:
    rows = session.execute(
        select(
            accounts.c.tier,
            func.count(),
            func.coalesce(func.sum(accounts.c.available), 0),
            func.coalesce(func.sum(accounts.c.pending), 0),
            func.coalesce(func.sum(accounts.c.owed), 0),
        ).group_by(accounts.c.tier)
    )
    return [TierTotals(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]


def movements(session: Session, *, expiring_by: datetime, since: datetime) -> Movements:
    """Points left in open lots that expire by ``expiring_by`` (overdue ones the expiry job
    has not swept yet included); points earned (purchases and rewards, not credits or
    transfers) and redeemed (net of redemptions given back) with a business time after
    ``since``."""
    expiring = (
        select(func.coalesce(func.sum(lots.c.remaining), 0))
        .where(
            # every status but closed, named: a range of the (status, expires_at) index each
            lots.c.status.in_([LotStatus.PENDING.value, LotStatus.AVAILABLE.value]),
            lots.c.remaining > 0,
            lots.c.expires_at <= expiring_by,
        )
        .scalar_subquery()
    )
    recent = entries.c.effective_at > since
    earned = (
        select(func.coalesce(func.sum(entries.c.points + entries.c.pending_delta), 0))
        .where(
            recent,
            entries.c.kind.in_([EntryKind.EARN.value, EntryKind.REWARD.value]),
        )
        .scalar_subquery()
    )
    redeemed = (
        select(func.coalesce(-func.sum(entries.c.points), 0))
        .where(recent, entries.c.kind.in_([EntryKind.REDEEM.value, EntryKind.REVERSE.value]))
        .scalar_subquery()
    )
    row = session.execute(select(expiring, earned, redeemed)).one()
    return Movements(int(row[0]), int(row[1]), int(row[2]))
