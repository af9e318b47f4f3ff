"""Queries over loyalty accounts: creation, locks, counters, tiers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from omniretail.db.sql import insert_for, rowcount
from omniretail.loyalty.models import (
    Account,
)
from omniretail.loyalty.repository.programmes import accounts

# --- accounts --------------------------------------------------------------------------------


def create_account_if_missing(session: Session, customer_id: int, tier: str, now: datetime) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when this call created it."""
    stmt = (
        insert_for(session)(accounts)
        .values(
            customer_id=customer_id,
            available=0,
            pending=0,
            owed=0,
            tier=tier,
            tier_changed_at=now,
            enrolled_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[accounts.c.customer_id])
        .returning(accounts.c.customer_id)
    )
    return session.execute(stmt).first() is not None


def get_accounts(session: Session, customer_ids: Sequence[int]) -> list[Account]:
    return list(
        session.scalars(
            select(Account)
            .where(Account.customer_id.in_(list(customer_ids)))
            .order_by(Account.customer_id)
        )
    )


def lock_accounts(session: Session, customer_ids: Sequence[int]) -> list[Account]:
    """SELECT ... FOR UPDATE in id order: concurrent redemptions on one person queue here."""
    return list(
        session.scalars(
            select(Account)
            .where(Account.customer_id.in_(list(customer_ids)))
            .order_by(Account.customer_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def apply_to_account(
    session: Session,
    customer_id: int,
    now: datetime,
    *,
    available: int = 0,
    pending: int = 0,
    owed: int = 0,
) -> bool:
    """One conditional UPDATE: refused (False) if a counter would go below zero."""
    result = session.execute(
        update(accounts)
        .where(
            accounts.c.customer_id == customer_id,
            accounts.c.available + available >= 0,
            accounts.c.pending + pending >= 0,
            accounts.c.owed + owed >= 0,
        )
        .values(
            available=accounts.c.available + available,
            pending=accounts.c.pending + pending,
            owed=accounts.c.owed + owed,
            updated_at=now,
        )
    )
    return bool(rowcount(result))


def set_tier(session: Session, customer_id: int, tier: str, now: datetime) -> None:
    session.execute(
        update(accounts)
        .where(accounts.c.customer_id == customer_id)
        .values(tier=tier, tier_changed_at=now)
    )


def all_account_ids(session: Session) -> list[int]:
    return list(session.scalars(select(accounts.c.customer_id).order_by(accounts.c.customer_id)))


def set_counters(
    session: Session, customer_id: int, available: int, pending: int, owed: int
) -> None:
    """Recompute only: the ledger's sums replace drifted counters (rows locked by the caller)."""
    session.execute(
        update(accounts)
        .where(accounts.c.customer_id == customer_id)
        .values(available=available, pending=pending, owed=owed)
    )
