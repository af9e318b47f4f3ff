"""Stored responses of requests that carried an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, select, update
from sqlalchemy.dialects import postgresql, sqlite
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


def claim(session: Session, *, key: str, fingerprint: str, now: datetime) -> bool:
    """Inserts the key (its response is filled in by ``remember`` before commit); False when
    it is already stored. PostgreSQL makes a concurrent claim of the same key wait until the
    first transaction ends, so exactly one request runs the use case."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(IdempotentRequest)
        .values(key=key, fingerprint=fingerprint, status_code=0, response={}, created_at=now)
        .on_conflict_do_nothing(index_elements=[IdempotentRequest.key])
        .returning(IdempotentRequest.key)
    )
    return session.execute(stmt).first() is not None


def remember(session: Session, *, key: str, status_code: int, response: dict[str, Any]) -> None:
    """Stores the response of the request that claimed ``key`` (same transaction)."""
    session.execute(
        update(IdempotentRequest)
        .where(IdempotentRequest.key == key)
        .values(status_code=status_code, response=response)
    )
