"""The only place that builds queries over principals, API keys and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from omniretail.auth.models import (
    ApiKey,
    AuditEntry,
    PasswordReset,
    PasswordResetCode,
    Principal,
    RevokedToken,
    SignInThrottle,
)
from omniretail.db.sql import insert_for, insert_ignore


def add_principal(session: Session, principal: Principal) -> Principal:
    session.add(principal)
    session.flush()
    return principal


def get_principal(session: Session, principal_id: int) -> Principal | None:
    return session.get(Principal, principal_id)


def by_username(session: Session, username: str) -> Principal | None:
    return session.scalars(select(Principal).where(Principal.username == username)).first()


def by_customer(session: Session, customer_ids: list[int]) -> Principal | None:
    """The sign-in of these (merged) profiles: an active one first, since a profile merged in
    may bring a disabled one (a sign-up never verified, a blocked account)."""
    return session.scalars(
        select(Principal)
        .where(Principal.customer_id.in_(customer_ids))
        .order_by(Principal.active.desc(), Principal.id)
    ).first()


def never_enabled_customers(
    session: Session, before: datetime, limit: int
) -> list[tuple[int, int]]:
    """(principal id, customer id) of customer sign-ins created before ``before`` and never
    enabled: a shop sign-up is created disabled at token version 0, and disabling an account
    later bumps its version, so a blocked customer is never among them."""
    rows = session.execute(
        select(Principal.id, Principal.customer_id)
        .where(
            Principal.role == "customer",
            Principal.active.is_(False),
            Principal.token_version == 0,
            Principal.username.is_(None),
            Principal.customer_id.is_not(None),
            Principal.created_at < before,
        )
        .order_by(Principal.id)
        .limit(limit)
    )
    return [(pid, cid) for pid, cid in rows if cid is not None]


def list_principals(session: Session) -> list[Principal]:
    return list(session.scalars(select(Principal).order_by(Principal.id)))


def add_api_key(session: Session, key: ApiKey) -> ApiKey:
    session.add(key)
    session.flush()
    return key


def list_api_keys(session: Session) -> list[tuple[ApiKey, str | None]]:
    rows = session.execute(
        select(ApiKey, Principal.username)
        .join(Principal, Principal.id == ApiKey.principal_id)
        .order_by(ApiKey.id.desc())
    )
    return [(key, username) for key, username in rows]


def get_api_key(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def revoke_key(session: Session, key_id: int, now: datetime) -> bool:
    """Revokes one unrevoked key; whether it did."""
    done = session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiKey.id)
    ).first()
    return done is not None


def lock_active_admins(session: Session) -> list[int]:
    """The active admin people, their rows locked for this transaction (in id order)."""
    return list(
        session.scalars(
            select(Principal.id)
            .where(
                Principal.role == "admin", Principal.active.is_(True), Principal.kind == "person"
            )
            .order_by(Principal.id)
            .with_for_update()
        )
    )


def principal_by_key_hash(session: Session, key_hash: str) -> Any:
    """The active principal of an unrevoked key: the columns ``service.as_auth`` reads, as a
    plain row or None (every request with an API key reads it; no ORM object is needed)."""
    return session.execute(_PRINCIPAL_BY_KEY, {"key_hash": key_hash}).first()


_principals = cast(Table, Principal.__table__)
_keys = cast(Table, ApiKey.__table__)
_creators = _principals.alias("creator")
# Built once: every request authenticated by an API key runs it. The key's creator (a
# primary-key join) is who per-person limits count the key's use against.
_PRINCIPAL_BY_KEY = (
    select(
        _principals.c.id,
        _principals.c.role,
        _principals.c.username,
        _principals.c.store_code,
        _principals.c.customer_id,
        _principals.c.kind,
        _principals.c.permissions,
        _principals.c.token_version,
        _creators.c.id.label("owner_id"),
        _creators.c.role.label("owner_role"),
        _creators.c.username.label("owner_username"),
    )
    .join(_keys, _keys.c.principal_id == _principals.c.id)
    .outerjoin(_creators, _creators.c.id == _keys.c.created_by)
    .where(
        _keys.c.key_hash == bindparam("key_hash", type_=_keys.c.key_hash.type),
        _keys.c.revoked_at.is_(None),
        _principals.c.active.is_(True),
    )
)


def revoke_keys(session: Session, principal_id: int, now: datetime) -> None:
    session.execute(
        update(ApiKey).where(ApiKey.principal_id == principal_id).values(revoked_at=now)
    )


def delete_customer_principals(session: Session, customer_ids: list[int]) -> int:
    ids = list(session.scalars(select(Principal.id).where(Principal.customer_id.in_(customer_ids))))
    if not ids:
        return 0
    delete_principals(session, ids)
    return len(ids)


def delete_principals(session: Session, ids: list[int]) -> None:
    session.execute(delete(ApiKey).where(ApiKey.principal_id.in_(ids)))
    session.execute(update(ApiKey).where(ApiKey.created_by.in_(ids)).values(created_by=None))
    session.execute(delete(PasswordReset).where(PasswordReset.principal_id.in_(ids)))
    session.execute(delete(PasswordResetCode).where(PasswordResetCode.principal_id.in_(ids)))
    session.execute(delete(Principal).where(Principal.id.in_(ids)))


def token_state(session: Session, principal_id: int) -> Principal | None:
    """The principal row a token names (one primary-key read; no identity-map reuse)."""
    return session.scalars(
        select(Principal)
        .where(Principal.id == principal_id)
        .execution_options(populate_existing=True)
    ).first()


def token_state_unless_revoked(
    session: Session, principal_id: int, token_id: str | None
) -> Principal | None:
    """The principal row a token names, or ``None`` when that token was signed out: one
    statement (the revocation is an indexed ``EXISTS`` beside the primary-key read)."""
    revoked = (
        select(RevokedToken.token_id).where(RevokedToken.token_id == token_id).exists()
        if token_id is not None
        else None
    )
    query = select(Principal).where(Principal.id == principal_id)
    if revoked is not None:
        query = query.where(~revoked)
    return session.scalars(query.execution_options(populate_existing=True)).first()


def revoke_token(session: Session, token_id: str, principal_id: int, expires_at: datetime) -> None:
    row = {"token_id": token_id, "principal_id": principal_id, "expires_at": expires_at}
    session.execute(insert_ignore(session, RevokedToken, [row], ["token_id"]))


def forget_expired_revocations(session: Session, now: datetime) -> int:
    done = session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    return int(getattr(done, "rowcount", 0) or 0)


def bump_token_version(session: Session, principal_id: int) -> None:
    session.execute(
        update(Principal)
        .where(Principal.id == principal_id)
        .values(token_version=Principal.token_version + 1)
    )


def set_active(session: Session, principal_id: int, active: bool) -> None:
    """Disabling also bumps the token version: every token issued before stops at once."""
    values: dict[str, Any] = {"active": active}
    if not active:
        values["token_version"] = Principal.token_version + 1
    session.execute(update(Principal).where(Principal.id == principal_id).values(**values))


def set_password(
    session: Session, principal_id: int, password_hash: str, *, expected_version: int | None
) -> Principal | None:
    """New password and token version in one conditional update; ``None`` if the principal
    is gone, disabled, or (``expected_version``) changed meanwhile."""
    conditions = [Principal.id == principal_id, Principal.active.is_(True)]
    if expected_version is not None:
        conditions.append(Principal.token_version == expected_version)
    done = session.execute(
        update(Principal)
        .where(*conditions)
        .values(password_hash=password_hash, token_version=Principal.token_version + 1)
        .returning(Principal.id)
    ).first()
    if done is None:
        return None
    return token_state(session, principal_id)


# --- password resets -------------------------------------------------------------------------


def add_reset(session: Session, reset: PasswordReset) -> None:
    session.add(reset)
    session.flush()


def expire_resets(session: Session, principal_id: int, now: datetime) -> None:
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.principal_id == principal_id, PasswordReset.used_at.is_(None))
        .values(expires_at=now)
    )


def usable_reset(session: Session, token_hash: str, now: datetime) -> PasswordReset | None:
    return session.scalars(
        select(PasswordReset).where(
            PasswordReset.token_hash == token_hash,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
    ).first()


def use_reset(session: Session, token_hash: str, now: datetime) -> int | None:
    """Marks an unused, unexpired token used; its principal id, or ``None``."""
    return session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.token_hash == token_hash,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
        .returning(PasswordReset.principal_id)
    ).scalar()


# --- emailed reset codes ----------------------------------------------------------------------


def add_reset_code(session: Session, row: PasswordResetCode) -> PasswordResetCode:
    session.add(row)
    session.flush()
    return row


def reset_codes_since(session: Session, principal_id: int, since: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(PasswordResetCode)
            .where(
                PasswordResetCode.principal_id == principal_id,
                PasswordResetCode.created_at >= since,
            )
        )
        or 0
    )


def supersede_reset_codes(session: Session, principal_id: int) -> None:
    session.execute(
        update(PasswordResetCode)
        .where(
            PasswordResetCode.principal_id == principal_id, PasswordResetCode.status == "pending"
        )
        .values(status="superseded", code_enc=None)
    )


def lock_pending_reset_code(session: Session, principal_id: int) -> PasswordResetCode | None:
    return session.scalars(
        select(PasswordResetCode)
        .where(
            PasswordResetCode.principal_id == principal_id, PasswordResetCode.status == "pending"
        )
        .order_by(PasswordResetCode.id.desc())
        .limit(1)
        .with_for_update()
    ).first()


def lock_reset_code(session: Session, code_id: int) -> PasswordResetCode | None:
    return session.scalars(
        select(PasswordResetCode).where(PasswordResetCode.id == code_id).with_for_update()
    ).first()


# --- sign-in throttling ----------------------------------------------------------------------


def purge_throttles(session: Session, now: datetime, keep: list[str]) -> None:
    """Forgets counters that no longer matter (not those about to be charged)."""
    session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.forget_after < now, SignInThrottle.key_hash.not_in(keep)
        )
    )


def lock_throttles(session: Session, key_hashes: list[str], now: datetime) -> list[SignInThrottle]:
    """The counters of these keys, created if absent, locked for this transaction."""
    rows = [
        {"key_hash": k, "failures": 0, "last_failure_at": now, "forget_after": now}
        for k in sorted(key_hashes)  # one order for every transaction: no deadlock
    ]
    session.execute(
        insert_for(session)(SignInThrottle)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["key_hash"])
    )
    return list(
        session.scalars(
            select(SignInThrottle)
            .where(SignInThrottle.key_hash.in_(key_hashes))
            .order_by(SignInThrottle.key_hash)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def clear_throttle(session: Session, key_hash: str) -> None:
    session.execute(delete(SignInThrottle).where(SignInThrottle.key_hash == key_hash))


def give_back_attempt(session: Session, key_hash: str) -> None:
    session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.key_hash == key_hash, SignInThrottle.failures > 0)
        .values(failures=SignInThrottle.failures - 1)
    )


def audit_table() -> Table:
    return cast(Table, AuditEntry.__table__)


def add_audit(session: Session, row: dict[str, Any]) -> None:
    session.execute(insert(AuditEntry).values(**row))


def list_audit(
    session: Session,
    *,
    area: str | None,
    limit: int,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).offset(offset).limit(limit)
    if area:
        stmt = stmt.where(AuditEntry.area == area)
    if actor:
        stmt = stmt.where(AuditEntry.actor.contains(actor, autoescape=True))
    if action:
        stmt = stmt.where(AuditEntry.action.contains(action, autoescape=True))
    if since is not None:
        stmt = stmt.where(AuditEntry.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.occurred_at < until)
    return list(session.scalars(stmt))
