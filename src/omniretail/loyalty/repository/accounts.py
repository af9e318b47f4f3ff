"""Queries over loyalty accounts: creation, locks, counters, tiers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, select, update
from sqlalchemy.orm import Session

from omniretail.db.sql import insert_for, listed, listed_statement, listed_values, rowcount
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
    stmt = listed_statement(session, "loyalty.accounts", len(customer_ids), _accounts_of)
    return list(session.scalars(stmt, listed_values("customer_ids", customer_ids)))


def _accounts_of(postgres: bool, count: int) -> Any:
    # populate_existing: the counters and tier as they are now, also for an account this
    # session loaded before the statements that changed it (a batch of earns)
    return (
        select(Account)
        .where(listed(accounts.c.customer_id, "customer_ids", count, postgres, Integer()))
        .order_by(Account.customer_id)
        .execution_options(populate_existing=True)
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
    params = {
        "account": customer_id,
        "add_available": available,
        "add_pending": pending,
        "add_owed": owed,
        "account_now": now,
    }
    return bool(rowcount(session.execute(_APPLY_TO_ACCOUNT, params)))


def _delta(name: str) -> Any:
    return bindparam(name, type_=Integer())


# Built once: every earn, redemption and clawback runs it.
_APPLY_TO_ACCOUNT = (
    update(accounts)
    .where(
        accounts.c.customer_id == bindparam("account", type_=accounts.c.customer_id.type),
        accounts.c.available + _delta("add_available") >= 0,
        accounts.c.pending + _delta("add_pending") >= 0,
        accounts.c.owed + _delta("add_owed") >= 0,
    )
    .values(
        available=accounts.c.available + _delta("add_available"),
        pending=accounts.c.pending + _delta("add_pending"),
        owed=accounts.c.owed + _delta("add_owed"),
        updated_at=bindparam("account_now", type_=accounts.c.updated_at.type),
    )
)


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
