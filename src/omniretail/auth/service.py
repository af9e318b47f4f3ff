"""Auth use cases: principals, API keys, sign-in, the audit log. Services never commit."""

from __future__ import annotations

import time
from typing import Any

from omniretail.auth import repository as repo
from omniretail.auth.errors import DuplicateUsername, InvalidCredentials, InvalidPrincipal
from omniretail.auth.models import ApiKey, Principal, Role
from omniretail.auth.schemas import ApiKeyCreated, AuditRead, PrincipalCreate, PrincipalRead
from omniretail.auth.security import (
    AuthPrincipal,
    digest_api_key,
    hash_password,
    new_api_key,
    verify_password,
)
from omniretail.customers import service as customers
from omniretail.customers.crypto import PiiVault
from omniretail.customers.errors import UnknownCustomer
from omniretail.customers.models import IdentityKind
from omniretail.db.uow import UnitOfWork


def create_principal(uow: UnitOfWork, data: PrincipalCreate) -> PrincipalRead:
    if data.role == Role.STORE_ASSOCIATE and not data.store_code:
        raise InvalidPrincipal("a store associate needs a store_code", field="store_code")
    if data.role == Role.CUSTOMER:
        if data.customer_id is None:
            raise InvalidPrincipal("a customer principal needs a customer_id", field="customer_id")
        customers.require_root(uow, data.customer_id)
    elif not data.username:
        raise InvalidPrincipal("staff and systems sign in with a username", field="username")
    if data.permissions and data.kind != "system":
        raise InvalidPrincipal(
            "permissions given by name are for systems (kind 'system') only", field="permissions"
        )
    if data.username and repo.by_username(uow.session, data.username) is not None:
        raise DuplicateUsername(f"username {data.username!r} is taken", field="username")
    principal = repo.add_principal(
        uow.session,
        Principal(
            username=data.username if data.role != Role.CUSTOMER else None,
            kind=data.kind,
            role=data.role.value,
            password_hash=hash_password(data.password) if data.password else None,
            store_code=data.store_code.strip().upper() if data.store_code else None,
            customer_id=data.customer_id if data.role == Role.CUSTOMER else None,
            active=True,
            created_at=uow.now,
            permissions=sorted(set(data.permissions)),
        ),
    )
    return principal_read(principal)


def create_api_key(uow: UnitOfWork, principal_id: int, label: str) -> ApiKeyCreated:
    key, prefix, digest = new_api_key()
    row = repo.add_api_key(
        uow.session,
        ApiKey(
            principal_id=principal_id,
            prefix=prefix,
            key_hash=digest,
            label=label,
            created_at=uow.now,
        ),
    )
    return ApiKeyCreated(id=row.id, principal_id=principal_id, label=label, prefix=prefix, key=key)


def list_principals(uow: UnitOfWork) -> list[PrincipalRead]:
    return [principal_read(p) for p in repo.list_principals(uow.session)]


def sign_in(uow: UnitOfWork, username: str, password: str, *, vault: PiiVault) -> AuthPrincipal:
    """Staff by username; customers by the email of their profile. One answer for every
    failure, so sign-in never tells which usernames exist."""
    principal = repo.by_username(uow.session, username)
    if principal is None and "@" in username:
        try:
            customer_id = customers.find_customer(uow, IdentityKind.EMAIL, username, vault=vault)
        except UnknownCustomer:
            customer_id = None
        if customer_id is not None:
            principal = repo.by_customer(uow.session, customers.cluster(uow, customer_id))
    stored = principal.password_hash if principal is not None else None
    if principal is None or not principal.active or not verify_password(stored, password):
        raise InvalidCredentials("wrong username or password", field="username")
    return as_auth(principal)


_key_cache: dict[str, tuple[float, AuthPrincipal | None]] = {}
_KEY_TTL = 5.0


def cached_principal_for_key(key: str) -> tuple[bool, AuthPrincipal | None]:
    """(found, principal) from the key cache alone, without the database."""
    cached = _key_cache.get(digest_api_key(key))
    if cached is not None and cached[0] > time.monotonic():
        return True, cached[1]
    return False, None


def principal_for_key(uow: UnitOfWork, key: str) -> AuthPrincipal | None:
    """API keys are looked up by digest (cached for a few seconds, so a revocation takes
    effect within that time)."""
    digest = digest_api_key(key)
    cached = _key_cache.get(digest)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    principal = repo.principal_by_key_hash(uow.session, digest)
    result = as_auth(principal, via="api_key") if principal is not None else None
    _key_cache[digest] = (time.monotonic() + _KEY_TTL, result)
    return result


def as_auth(principal: Principal, *, via: str = "token") -> AuthPrincipal:
    """Kind and named permissions count only for API keys: a bearer token (a person signing
    in) carries neither."""
    key = via == "api_key"
    return AuthPrincipal(
        id=principal.id,
        role=principal.role,
        name=principal.username or f"customer-{principal.customer_id}",
        store_code=principal.store_code,
        customer_id=principal.customer_id,
        via=via,
        kind=principal.kind if key else "person",
        permissions=frozenset(principal.permissions or []) if key else frozenset(),
    )


def forget_customer(uow: UnitOfWork, customer_ids: list[int]) -> int:
    """Erasure: the customer's sign-in goes with their personal data."""
    removed = repo.delete_customer_principals(uow.session, customer_ids)
    _key_cache.clear()
    return removed


def record_audit(
    uow: UnitOfWork,
    principal: AuthPrincipal,
    *,
    action: str,
    area: str,
    subject: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    repo.add_audit(
        uow.session,
        {
            "occurred_at": uow.now,
            "actor": principal.actor,
            "role": principal.role,
            "action": action,
            "area": area,
            "subject": subject,
            "detail": detail or {},
        },
    )


def list_audit(uow: UnitOfWork, *, area: str | None, limit: int) -> list[AuditRead]:
    return [
        AuditRead(
            id=a.id,
            occurred_at=a.occurred_at,
            actor=a.actor,
            role=a.role,
            action=a.action,
            area=a.area,
            subject=a.subject,
        )
        for a in repo.list_audit(uow.session, area=area, limit=limit)
    ]


def principal_read(p: Principal) -> PrincipalRead:
    return PrincipalRead(
        id=p.id,
        username=p.username,
        kind=p.kind,
        role=Role(p.role),
        store_code=p.store_code,
        customer_id=p.customer_id,
        active=p.active,
        created_at=p.created_at,
        permissions=list(p.permissions or []),
    )


def principal_by_username(uow: UnitOfWork, username: str) -> PrincipalRead | None:
    principal = repo.by_username(uow.session, username)
    return principal_read(principal) if principal is not None else None
