"""Cart holds turned into order holds at checkout, in one conditional UPDATE (beside
``inventory.repository``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from omniretail.db.sql import listed, listed_statement, listed_values
from omniretail.inventory.models import HoldKind, HoldStatus
from omniretail.inventory.repository import HOLD_COLUMNS, Hold, holds


def claim_cart_holds_for_order(
    session: Session, hold_ids: Sequence[str], reference: str | None, now: datetime
) -> list[Hold]:
    """Turns the unexpired cart holds among ``hold_ids`` into order holds in one conditional
    UPDATE; returns the rows converted (a lapsed or missing hold is not among them)."""
    params = {
        **listed_values("claim_ids", hold_ids),
        "claim_reference": reference,
        "claim_now": now,
    }
    stmt = listed_statement(session, "inventory.claim_holds", len(hold_ids), _claim_cart_holds)
    return [Hold(*row) for row in session.execute(stmt, params)]


def _claim_cart_holds(postgres: bool, count: int) -> Any:
    """Kept per dialect and count: every checkout runs it (built per call, SQLAlchemy walked
    it for its cache key)."""
    return (
        update(holds)
        .where(
            listed(holds.c.id, "claim_ids", count, postgres, holds.c.id.type),
            holds.c.kind == HoldKind.CART.value,
            holds.c.status == HoldStatus.ACTIVE.value,
            holds.c.expires_at > bindparam("claim_now", type_=holds.c.expires_at.type),
        )
        .values(
            kind=HoldKind.ORDER.value,
            expires_at=None,
            reference=bindparam("claim_reference", type_=holds.c.reference.type),
            updated_at=bindparam("claim_now", type_=holds.c.updated_at.type),
        )
        .returning(*HOLD_COLUMNS)
    )
