"""Queries over redemptions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from omniretail.loyalty.models import (
    Redemption,
)

# --- redemptions and coupons -----------------------------------------------------------------


def add_redemption(session: Session, redemption: Redemption) -> None:
    session.add(redemption)
    session.flush()


def get_redemption_by_reference(session: Session, reference: str) -> Redemption | None:
    return session.scalars(select(Redemption).where(Redemption.reference == reference)).first()


def lock_redemption(session: Session, redemption_id: str) -> Redemption | None:
    return session.scalars(
        select(Redemption).where(Redemption.id == redemption_id).with_for_update()
    ).first()
