"""Stored responses of requests that carried an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from omniretail.db.base import Base


class IdempotentRequest(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


def find(session: Session, key: str) -> IdempotentRequest | None:
    return session.scalar(select(IdempotentRequest).where(IdempotentRequest.key == key))


def remember(
    session: Session,
    *,
    key: str,
    fingerprint: str,
    status_code: int,
    response: dict[str, Any],
    now: datetime,
) -> None:
    session.add(
        IdempotentRequest(
            key=key,
            fingerprint=fingerprint,
            status_code=status_code,
            response=response,
            created_at=now,
        )
    )
    session.flush()
