"""Stored responses of requests that carried an Idempotency-Key.

A key belongs to the principal that sent it: the row is keyed on (principal id, key), so
another caller with the same key and body is a new request and never sees this reply. Keys
live ``idempotency_ttl_hours``; after that they are treated as unknown and swept. The stored
reply is ciphertext (the edge encrypts it before ``remember``): the table holds no clear text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from omniretail.db.base import Base
from omniretail.db.sql import insert_for, rowcount, statement


class IdempotentRequest(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    principal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    # Ciphertext of the JSON reply ("" until ``remember`` fills it in).
    response: Mapped[str] = mapped_column(Text)
    # The order number a reply is about, so an erasure can delete it without decrypting.
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]


def find(session: Session, principal_id: int, key: str) -> IdempotentRequest | None:
    return session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.principal_id == principal_id, IdempotentRequest.key == key
        )
    )


def claim(
    session: Session, *, principal_id: int, key: str, fingerprint: str, now: datetime
) -> bool:
    """Inserts the key (its response is filled in by ``remember`` before commit); False when
    it is already stored. PostgreSQL makes a concurrent claim of the same key wait until the
    first transaction ends, so exactly one request runs the use case."""
    stmt = (
        insert_for(session)(IdempotentRequest)
        .values(
            principal_id=principal_id,
            key=key,
            fingerprint=fingerprint,
            status_code=0,
            response="",
            created_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=[IdempotentRequest.principal_id, IdempotentRequest.key]
        )
        .returning(IdempotentRequest.key)
    )
    return session.execute(stmt).first() is not None


def store(
    session: Session,
    *,
    principal_id: int,
    key: str,
    fingerprint: str,
    status_code: int,
    response: str,
    subject: str | None,
    now: datetime,
    expired_before: datetime,
) -> tuple[Any, dict[str, Any]]:
    """The statement that stores a request's reply with its key in one INSERT, and its
    parameters (no claim first: for the last step of a request whose earlier steps already
    ran, see ``UseCase.run_last``). It returns the key when stored, nothing when the key is
    held by a reply that has not expired (an expired one is overwritten)."""
    params = {
        "idem_principal_id": principal_id,
        "idem_key": key,
        "idem_fingerprint": fingerprint,
        "idem_status_code": status_code,
        "idem_response": response,
        "idem_subject": subject,
        "idem_created_at": now,
        "idem_expired_before": expired_before,
    }
    return statement(session, "idempotency.store", _store_statement), params


def _store_statement(postgres: bool) -> Any:
    table = IdempotentRequest.__table__.c
    stmt = (postgresql.insert if postgres else sqlite.insert)(IdempotentRequest).values(
        {
            name: bindparam(f"idem_{name}", type_=table[name].type)
            for name in (
                "principal_id",
                "key",
                "fingerprint",
                "status_code",
                "response",
                "subject",
                "created_at",
            )
        }
    )
    return stmt.on_conflict_do_update(
        index_elements=[IdempotentRequest.principal_id, IdempotentRequest.key],
        set_={
            "fingerprint": stmt.excluded.fingerprint,
            "status_code": stmt.excluded.status_code,
            "response": stmt.excluded.response,
            "subject": stmt.excluded.subject,
            "created_at": stmt.excluded.created_at,
        },
        where=IdempotentRequest.created_at
        <= bindparam("idem_expired_before", type_=table["created_at"].type),
    ).returning(IdempotentRequest.key)


def remember(
    session: Session,
    *,
    principal_id: int,
    key: str,
    status_code: int,
    response: str,
    subject: str | None = None,
) -> None:
    """Stores the (encrypted) response of the request that claimed ``key`` (same transaction)."""
    session.execute(
        update(IdempotentRequest)
        .where(IdempotentRequest.principal_id == principal_id, IdempotentRequest.key == key)
        .values(status_code=status_code, response=response, subject=subject)
    )


def forget(session: Session, principal_id: int, key: str) -> None:
    """Drops one expired key, so the request that found it runs as new."""
    session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.principal_id == principal_id, IdempotentRequest.key == key
        )
    )


def sweep(session: Session, *, before: datetime) -> int:
    """Deletes keys stored before ``before`` (expired); returns how many."""
    result = session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < before))
    return rowcount(result)


def forget_subjects(session: Session, subjects: list[str]) -> int:
    """Deletes the stored replies about these order numbers (erasure)."""
    if not subjects:
        return 0
    result = session.execute(
        delete(IdempotentRequest).where(IdempotentRequest.subject.in_(subjects))
    )
    return rowcount(result)
