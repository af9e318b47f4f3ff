"""The loyalty tables as Core tables, and queries over programme versions."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from omniretail.loyalty.models import (
    Account,
    Coupon,
    Entry,
    Lot,
    Programme,
)

accounts = cast(Table, Account.__table__)
lots = cast(Table, Lot.__table__)
entries = cast(Table, Entry.__table__)
coupons = cast(Table, Coupon.__table__)


# --- programme -------------------------------------------------------------------------------


def active_programme(session: Session) -> Programme | None:
    return session.scalars(select(Programme).where(Programme.active.is_(True))).first()


def latest_version(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(Programme.version), 0))) or 0)


def add_programme(session: Session, programme: Programme) -> None:
    session.execute(update(Programme).where(Programme.active.is_(True)).values(active=False))
    session.add(programme)
    session.flush()


def list_programmes(session: Session) -> list[Programme]:
    return list(session.scalars(select(Programme).order_by(Programme.version.desc())))
