"""The only place that builds queries over principals, API keys and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from omniretail.auth.models import ApiKey, AuditEntry, Principal


def add_principal(session: Session, principal: Principal) -> Principal:
    session.add(principal)
    session.flush()
    return principal


def get_principal(session: Session, principal_id: int) -> Principal | None:
    return session.get(Principal, principal_id)


def by_username(session: Session, username: str) -> Principal | None:
    return session.scalars(select(Principal).where(Principal.username == username)).first()


def by_customer(session: Session, customer_ids: list[int]) -> Principal | None:
    return session.scalars(
        select(Principal).where(Principal.customer_id.in_(customer_ids)).order_by(Principal.id)
    ).first()


def list_principals(session: Session) -> list[Principal]:
    return list(session.scalars(select(Principal).order_by(Principal.id)))


def add_api_key(session: Session, key: ApiKey) -> ApiKey:
    session.add(key)
    session.flush()
    return key


def principal_by_key_hash(session: Session, key_hash: str) -> Principal | None:
    return session.scalars(
        select(Principal)
        .join(ApiKey, ApiKey.principal_id == Principal.id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None), Principal.active.is_(True))
    ).first()


def revoke_keys(session: Session, principal_id: int, now: datetime) -> None:
    session.execute(
        update(ApiKey).where(ApiKey.principal_id == principal_id).values(revoked_at=now)
    )


def delete_customer_principals(session: Session, customer_ids: list[int]) -> int:
    ids = list(session.scalars(select(Principal.id).where(Principal.customer_id.in_(customer_ids))))
    if not ids:
        return 0
    session.execute(delete(ApiKey).where(ApiKey.principal_id.in_(ids)))
    session.execute(delete(Principal).where(Principal.id.in_(ids)))
    return len(ids)


def add_audit(session: Session, row: dict[str, Any]) -> None:
    session.execute(insert(AuditEntry).values(**row))


def list_audit(session: Session, *, area: str | None, limit: int) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if area:
        stmt = stmt.where(AuditEntry.area == area)
    return list(session.scalars(stmt))
