"""The privacy request log, and rows as dicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Row,
    select,
)
from sqlalchemy.orm import Session

from omniretail.customers.models import (
    PrivacyRequest,
)

# --- privacy ---------------------------------------------------------------------------------


def log_privacy(session: Session, request: PrivacyRequest) -> None:
    session.add(request)
    session.flush()


def privacy_log(session: Session, customer_ids: Sequence[int]) -> list[PrivacyRequest]:
    return list(
        session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.customer_id.in_(list(customer_ids)))
            .order_by(PrivacyRequest.id)
        )
    )


def rows_as_dicts(rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in rows]
