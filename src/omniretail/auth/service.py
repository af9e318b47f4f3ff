"""Auth use cases: principals, API keys, sign-in, the audit log. Services never commit."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, event

from omniretail.auth import policy, principal_cache
from omniretail.auth import repository as repo
from omniretail.auth.errors import (
    DuplicateUsername,
    InvalidCredentials,
    InvalidPrincipal,
    InvalidResetToken,
    PrincipalConflict,
    SignInThrottled,
    UnknownApiKey,
    UnknownPrincipal,
    WeakPassword,
)
from omniretail.auth.models import ApiKey, PasswordReset, Principal
from omniretail.auth.models import Role as Role
from omniretail.auth.schemas import (
    ApiKeyCreated,
    ApiKeyRead,
    AuditRead,
    PasswordResetIssued,
    PrincipalCreate,
    PrincipalRead,
    PrincipalUpdate,
)
from omniretail.auth.security import AuthPrincipal as AuthPrincipal
from omniretail.auth.security import TokenSigner as TokenSigner
from omniretail.auth.security import (
    digest_api_key,
    hash_password,
    new_api_key,
    new_reset_token,
    verify_password,
)
from omniretail.customers import service as customers
from omniretail.customers.errors import UnknownCustomer
from omniretail.customers.schemas import IdentityKind
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault
from omniretail.settings import Settings


def create_principal(uow: UnitOfWork, data: PrincipalCreate) -> PrincipalRead:
    if data.role == Role.STORE_ASSOCIATE and not data.store_code:
        raise InvalidPrincipal("choose the store the associate works at", field="store_code")
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
    if data.password:
        password_policy(data.password, data.username if data.role != Role.CUSTOMER else None)
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


def create_api_key(
    uow: UnitOfWork, principal_id: int, label: str, *, created_by: int | None = None
) -> ApiKeyCreated:
    """``created_by``: the person it is shown to, whom per-person limits count it against."""
    owner = _principal(uow, principal_id)
    if owner.role == Role.CUSTOMER.value:
        raise PrincipalConflict("customers do not get API keys", field="principal_id")
    key, prefix, digest = new_api_key()
    row = repo.add_api_key(
        uow.session,
        ApiKey(
            principal_id=principal_id,
            prefix=prefix,
            key_hash=digest,
            label=label,
            created_at=uow.now,
            created_by=created_by,
        ),
    )
    return ApiKeyCreated(id=row.id, principal_id=principal_id, label=label, prefix=prefix, key=key)


def list_api_keys(uow: UnitOfWork) -> list[ApiKeyRead]:
    """Every key (newest first) with whose it is; never the key or its digest."""
    return [
        ApiKeyRead(
            id=key.id,
            principal_id=key.principal_id,
            principal=username or f"#{key.principal_id}",
            label=key.label,
            prefix=key.prefix,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )
        for key, username in repo.list_api_keys(uow.session)
    ]


def revoke_api_key(uow: UnitOfWork, key_id: int) -> ApiKeyRead:
    """The key stops at once (other processes: by notification, or without one after
    ``api_key_cache_seconds``)."""
    revoked = repo.revoke_key(uow.session, key_id, uow.now)
    if not revoked and repo.get_api_key(uow.session, key_id) is None:
        raise UnknownApiKey(f"no API key {key_id}", field="key_id")
    found = next((k for k in list_api_keys(uow) if k.id == key_id), None)
    assert found is not None
    _revoked(uow, found.principal_id)
    return found


def list_principals(uow: UnitOfWork) -> list[PrincipalRead]:
    return [principal_read(p) for p in repo.list_principals(uow.session)]


def people_who_may(uow: UnitOfWork, permission: str) -> list[PrincipalRead]:
    """Active people (no systems, no customers) whose role grants ``permission``: who a
    piece of work can be given to (a conversation to an agent)."""
    return [
        p
        for p in list_principals(uow)
        if p.active and p.kind == "person" and policy.allows(p.role.value, policy.Rule(permission))
    ]


def check_credentials(
    uow: UnitOfWork, username: str, password: str, *, vault: PiiVault
) -> AuthPrincipal:
    """Staff by username; customers by the email of their profile. One answer, and exactly
    one Argon2 verification, for every failure (no such user, no password, disabled, wrong
    password), so sign-in tells neither by its words nor by its timing which usernames exist.
    Callers go through ``auth.sign_in.sign_in``, which throttles."""
    principal = repo.by_username(uow.session, username)
    if principal is None and "@" in username:
        try:
            customer_id = customers.find_customer(uow, IdentityKind.EMAIL, username, vault=vault)
        except UnknownCustomer:
            customer_id = None
        if customer_id is not None:
            principal = repo.by_customer(uow.session, customers.cluster(uow, customer_id))
    stored = principal.password_hash if principal is not None and principal.active else None
    if not verify_password(stored, password) or principal is None:
        raise InvalidCredentials("wrong username or password", field="username")
    return as_auth(principal)


# --- passwords -------------------------------------------------------------------------------

MIN_PASSWORD_LENGTH = 12
# The most common passwords of at least 12 characters in public breach lists.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678910",
        "qwertyuiop12",
        "qwertyuiopas",
        "password1234",
        "password12345",
        "passwordpassword",
        "iloveyou1234",
        "abcdefghijkl",
        "111111111111",
        "000000000000",
        "aaaaaaaaaaaa",
        "omniretail-demo",
        "changeme1234",
        "welcome12345",
        "letmein12345",
        "administrator",
    }
)


def password_policy(password: str, username: str | None, *, field: str = "password") -> None:
    """At least 12 characters, not the username, not a well-known password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters", field=field
        )
    lowered = password.strip().lower()
    name = (username or "").strip().lower()
    if name and (lowered == name or (len(name) >= 4 and name in lowered)):
        raise WeakPassword("a password may not contain the username", field=field)
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        raise WeakPassword("this password is too easy to guess", field=field)


def _principal(uow: UnitOfWork, principal_id: int) -> Principal:
    principal = repo.get_principal(uow.session, principal_id)
    if principal is None:
        raise UnknownPrincipal(f"no principal {principal_id}", field="principal_id")
    return principal


def check_password_policy(uow: UnitOfWork, principal_id: int, password: str) -> None:
    password_policy(password, _principal(uow, principal_id).username, field="new_password")


def verify_own_password(uow: UnitOfWork, principal_id: int, password: str) -> int:
    """The principal's token_version if ``password`` is their current password."""
    principal = repo.get_principal(uow.session, principal_id)
    stored = principal.password_hash if principal is not None and principal.active else None
    if not verify_password(stored, password) or principal is None:
        raise InvalidCredentials("the current password is wrong", field="current_password")
    return principal.token_version


def set_password_hash(
    uow: UnitOfWork, principal_id: int, password_hash: str, *, expected_version: int | None
) -> AuthPrincipal:
    """Stores a new password and ends every earlier token (``expected_version``: only if no
    other change came in between)."""
    principal = repo.set_password(
        uow.session, principal_id, password_hash, expected_version=expected_version
    )
    if principal is None:
        raise PrincipalConflict(
            "the principal changed meanwhile (disabled, deleted or a new password); sign in again",
            field="principal_id",
        )
    _revoked(uow, principal_id)
    return as_auth(principal)


def issue_password_reset(
    uow: UnitOfWork, principal_id: int, *, ttl: timedelta
) -> PasswordResetIssued:
    """A one-time token an admin hands to the person (shown once; only its digest is
    stored). A new token replaces any earlier unused one."""
    principal = _principal(uow, principal_id)
    if principal.kind != "person":
        raise PrincipalConflict("systems use API keys, not passwords", field="principal_id")
    token, digest = new_reset_token()
    repo.expire_resets(uow.session, principal_id, uow.now)
    expires_at = uow.now + ttl
    repo.add_reset(
        uow.session,
        PasswordReset(
            principal_id=principal_id,
            token_hash=digest,
            created_at=uow.now,
            expires_at=expires_at,
        ),
    )
    return PasswordResetIssued(principal_id=principal_id, token=token, expires_at=expires_at)


def reset_token_principal(uow: UnitOfWork, token: str) -> int:
    reset = repo.usable_reset(uow.session, digest_api_key(token), uow.now)
    if reset is None:
        raise InvalidResetToken("this reset token is unknown, used or expired", field="token")
    return reset.principal_id


def redeem_password_reset(uow: UnitOfWork, token: str, password_hash: str) -> AuthPrincipal:
    """Uses the token up (a conditional update: two redemptions never both succeed)."""
    principal_id = repo.use_reset(uow.session, digest_api_key(token), uow.now)
    if principal_id is None:
        raise InvalidResetToken("this reset token is unknown, used or expired", field="token")
    return set_password_hash(uow, principal_id, password_hash, expected_version=None)


# --- principals: disable, enable, delete; revocation -------------------------------------------


def update_principal(
    uow: UnitOfWork, principal_id: int, data: PrincipalUpdate, *, acting: AuthPrincipal
) -> PrincipalRead:
    """Disabling ends every token and API key of the principal at once."""
    principal = _principal(uow, principal_id)
    if data.active is not None and data.active != principal.active:
        if not data.active and principal.id == acting.id:
            raise PrincipalConflict("you cannot disable yourself", field="active")
        if not data.active:
            _keep_an_admin(uow, principal, "disable")
        repo.set_active(uow.session, principal_id, data.active)
        _revoked(uow, principal_id)
    uow.session.refresh(principal)
    return principal_read(principal)


def delete_principal(uow: UnitOfWork, principal_id: int, *, acting: AuthPrincipal) -> PrincipalRead:
    """Removes the principal, its API keys and reset tokens (audit rows keep its name)."""
    principal = _principal(uow, principal_id)
    if principal.id == acting.id:
        raise PrincipalConflict("you cannot delete yourself", field="principal_id")
    _keep_an_admin(uow, principal, "delete")
    gone = principal_read(principal)
    repo.delete_principals(uow.session, [principal_id])
    _revoked(uow, principal_id)
    return gone


def _keep_an_admin(uow: UnitOfWork, principal: Principal, doing: str) -> None:
    """Nobody locks the platform out: the last active admin person stays. The active admins'
    rows are locked first, so two admins disabling each other at once cannot both succeed."""
    if principal.role != Role.ADMIN.value or not principal.active or principal.kind != "person":
        return
    others = [i for i in repo.lock_active_admins(uow.session) if i != principal.id]
    if not others:
        raise PrincipalConflict(
            f"you cannot {doing} the last active admin: create or enable another admin first",
            field="principal_id",
        )


def current_principal(uow: UnitOfWork, claimed: AuthPrincipal) -> AuthPrincipal | None:
    """The principal a valid token names, as stored now: ``None`` if it was deleted, disabled
    or its tokens were revoked (password change or reset) after the token was issued. One
    primary-key read."""
    row = repo.token_state_unless_revoked(uow.session, claimed.id, claimed.token_id)
    if row is None or not row.active or row.token_version != claimed.version:
        return None
    return replace(
        as_auth(row, via=claimed.via), token_id=claimed.token_id, expires_at=claimed.expires_at
    )


def sign_out(uow: UnitOfWork, principal: AuthPrincipal, now: datetime) -> None:
    """The token ``principal`` came with is refused from now on, in every process. A token
    issued before tokens had ids cannot be named: every token of that principal ends."""
    if principal.via != "token":
        return
    _revoked(uow, principal.id)
    if principal.token_id is None:
        repo.bump_token_version(uow.session, principal.id)
        return
    expires_at = datetime.fromtimestamp(principal.expires_at, tz=UTC)
    repo.revoke_token(uow.session, principal.token_id, principal.id, expires_at)
    repo.forget_expired_revocations(uow.session, now)


def _revoked(uow: UnitOfWork, principal_id: int | None) -> None:
    """This process's caches drop the principal: the API-key fallback at once, the principal
    cache now and after the commit (other processes: by notification). ``None``: everyone."""
    _key_cache.clear()
    principal_cache.forget_everywhere(principal_id)
    event.listen(
        uow.session,
        "after_commit",
        lambda _session: principal_cache.forget_everywhere(principal_id),
        once=True,
    )


# The ``api_key_cache_seconds`` fallback (no LISTEN cache: SQLite, PgBouncer, listener down).
_key_cache: dict[str, tuple[float, AuthPrincipal | None]] = {}


def cached_principal_for_key(key: str) -> tuple[bool, AuthPrincipal | None]:
    """(found, principal) from the key cache alone, without the database."""
    cached = _key_cache.get(digest_api_key(key))
    if cached is not None and cached[0] > time.monotonic():
        return True, cached[1]
    return False, None


def principal_for_key(
    uow: UnitOfWork, key: str, *, cache_seconds: float = 0.0
) -> AuthPrincipal | None:
    """API keys are looked up by digest (one indexed read joined to the principal, so a
    disabled principal's keys stop at once). With ``cache_seconds`` (the
    ``api_key_cache_seconds`` setting) an answer is kept that long in this process: other
    processes then see a revocation only after that time."""
    digest = digest_api_key(key)
    if cache_seconds > 0:
        cached = _key_cache.get(digest)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
    principal = repo.principal_by_key_hash(uow.session, digest)
    result = as_auth(principal, via="api_key") if principal is not None else None
    if cache_seconds > 0:
        _key_cache[digest] = (time.monotonic() + cache_seconds, result)
    return result


def as_auth(principal: Principal | Row[Any], *, via: str = "token") -> AuthPrincipal:
    """Kind and named permissions count only for API keys: a bearer token (a person signing
    in) carries neither."""
    key = via == "api_key"
    owner_role = getattr(principal, "owner_role", None)  # an API key's creator
    return AuthPrincipal(
        id=principal.id,
        role=principal.role,
        name=principal.username or f"customer-{principal.customer_id}",
        store_code=principal.store_code,
        customer_id=principal.customer_id,
        via=via,
        kind=principal.kind if key else "person",
        permissions=frozenset(principal.permissions or []) if key else frozenset(),
        version=principal.token_version,
        owner_id=getattr(principal, "owner_id", None),
        owner=f"{owner_role}:{getattr(principal, 'owner_username', '')}" if owner_role else None,
    )


def never_enabled_sign_ups(
    uow: UnitOfWork, before: datetime, limit: int = 500
) -> list[tuple[int, int]]:
    """(principal id, customer id) of shop sign-ups created before ``before`` whose email was
    never verified (``auth.sign_up``)."""
    return repo.never_enabled_customers(uow.session, before, limit)


def delete_sign_ins(uow: UnitOfWork, principal_ids: list[int]) -> None:
    if principal_ids:
        repo.delete_principals(uow.session, principal_ids)
        _revoked(uow, None)


def forget_customer(uow: UnitOfWork, customer_ids: list[int]) -> int:
    """Erasure: the customer's sign-in goes with their personal data."""
    removed = repo.delete_customer_principals(uow.session, customer_ids)
    _revoked(uow, None)
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
    # Written with the outbox at commit (nothing reads it back in the same transaction).
    uow.later_rows(
        repo.audit_table(),
        [
            {
                "occurred_at": uow.now,
                "actor": principal.actor,
                "role": principal.role,
                "action": action,
                "area": area,
                "subject": subject,
                "detail": detail or {},
            }
        ],
    )


def list_audit(
    uow: UnitOfWork,
    *,
    area: str | None,
    limit: int,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
) -> list[AuditRead]:
    """Newest first. ``action``: a part of the operation (``"POST"``, ``"/transfers"``);
    ``since`` inclusive, ``until`` exclusive."""
    rows = repo.list_audit(
        uow.session,
        area=area,
        limit=limit,
        actor=actor,
        action=action,
        since=since,
        until=until,
        offset=offset,
    )
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
        for a in rows
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


def principal_of_customer(uow: UnitOfWork, customer_ids: list[int]) -> PrincipalRead | None:
    """The sign-in of the customer whose merged profiles are ``customer_ids``, if any."""
    principal = repo.by_customer(uow.session, customer_ids)
    return principal_read(principal) if principal is not None else None


def set_password(uow: UnitOfWork, principal_id: int, password: str) -> None:
    """Sets a password chosen by the platform (demo accounts); every session of it ends."""
    set_password_hash(uow, principal_id, hash_password(password), expected_version=None)


@dataclass(frozen=True)
class AddressLimit:
    """A per-client-address limit of a public endpoint: ``limit`` requests a window, counted
    in the sign-in throttle's table under a key (``key_purpose``) and a purpose of its own."""

    key_purpose: str
    purpose: str
    limit: int
    window_seconds: int

    @classmethod
    def public_routes(cls, settings: Settings) -> AddressLimit:
        """The throttled public routes' (sign-up, codes, tracking look-ups)."""
        return cls(
            "public-route-throttle",
            "public-address",
            settings.public_requests_per_window,
            settings.public_window_seconds,
        )

    @classmethod
    def assistant(cls, settings: Settings) -> AddressLimit:
        """The public support assistant's."""
        return cls(
            "support-assistant-throttle",
            "assistant-address",
            settings.support_assistant_requests_per_window,
            settings.support_assistant_window_seconds,
        )


def throttle_address(
    uow_factory: Callable[[], AbstractContextManager[UnitOfWork]],
    keyring: Keyring,
    rule: AddressLimit,
    address: str | None,
    *,
    refused: Callable[[int], DomainError],
) -> None:
    """Counts one request from ``address`` in a transaction of its own, before the endpoint
    runs: the ``limit``-th request in a window is still served, the next raises
    ``refused(retry_after_seconds)`` for a window, doubling. Every throttled public route and
    the public assistant count through here."""
    from omniretail.auth import sign_in  # sign_in imports this module

    window = timedelta(seconds=rule.window_seconds)
    throttle = sign_in.Throttle(
        key=keyring.derive(rule.key_purpose),
        max_failures=rule.limit,
        address_max_failures=rule.limit,
        window=window,
        lockout=window,
        cap=window * 8,
    )
    try:
        with uow_factory() as uow:
            digest = throttle.digest(rule.purpose, address or "unknown")
            sign_in.charge(uow, throttle, {digest: rule.limit})
    except SignInThrottled as exc:
        raise refused(int(exc.extra.get("retry_after", 1))) from None
