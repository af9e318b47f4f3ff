"""Customers' self-service password reset ("forgot password") by an emailed one-time code.

``request_reset`` answers the same whether or not the email belongs to an account, and does
the same work for both: it counts the request (per email address and per client address, in
``sign_in_throttles`` under their own keyed digests) and records ``PasswordResetAsked`` with
the email's blind index (a keyed digest, never the address). Finding the account by it and
keeping a code happen in the relay (``keep_code``, from ``auth.handlers``): done in the
request, they made an email with an account answer a few milliseconds later than one
without. Only for a verified email of an active customer with a sign-in is a code kept: a
keyed hash (salted per code), and the clear code encrypted until the relay sends it, which
blanks it. That event carries only the code's row id.

``redeem_code`` (``POST /auth/password-reset`` with email and code): short-lived, single use,
a few wrong guesses per code; every failure gives the same answer. Success sets the password,
ends every earlier token and session, and writes an audit row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from omniretail.auth import repository as repo
from omniretail.auth import service
from omniretail.auth import sign_in as sign_ins
from omniretail.auth.errors import InvalidResetCode, PasswordResetThrottled, SignInThrottled
from omniretail.auth.events import PasswordResetAsked, PasswordResetCodeRequested
from omniretail.auth.models import PasswordResetCode, Role
from omniretail.auth.security import AuthPrincipal, hash_password
from omniretail.customers import service as customers
from omniretail.customers.service import CodeHasher
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault

CODE_FIELD = "password-reset-code"
WRONG = "this reset code is wrong, used or expired (or the email has no account): ask for a new one"


class _Settings(Protocol):
    reset_code_digits: int
    reset_code_ttl_seconds: int
    reset_code_max_attempts: int
    reset_requests_per_window: int
    reset_address_requests_per_window: int
    reset_window_seconds: int


@dataclass(frozen=True)
class ResetPolicy:
    digits: int = 8
    ttl_seconds: int = 1800
    max_attempts: int = 5
    window_seconds: int = 900
    # Codes one account gets per window, across its emails (as many as one email may ask).
    per_account: int = 3

    @classmethod
    def from_settings(cls, s: _Settings) -> ResetPolicy:
        return cls(
            s.reset_code_digits,
            s.reset_code_ttl_seconds,
            s.reset_code_max_attempts,
            s.reset_window_seconds,
            s.reset_requests_per_window,
        )


def throttle_for(s: _Settings, keyring: Keyring) -> sign_ins.Throttle:
    """Requests counted like failed sign-ins, under their own key: the limit-th request in a
    window is still served, the next waits out a lock-out of one window (doubling)."""
    window = timedelta(seconds=s.reset_window_seconds)
    return sign_ins.Throttle(
        key=keyring.derive("password-reset-throttle"),
        max_failures=s.reset_requests_per_window,
        address_max_failures=s.reset_address_requests_per_window,
        window=window,
        lockout=window,
        cap=window * 8,
    )


class ResetCodeHasher(CodeHasher):
    def __init__(self, keyring: Keyring) -> None:
        self._key = keyring.derive("password-reset-code")


def request_reset(
    uow: UnitOfWork,
    email: str,
    address: str | None,
    *,
    vault: PiiVault,
    throttle: sign_ins.Throttle,
) -> None:
    """Counts the request (or raises ``PasswordResetThrottled``, writing nothing) and records
    it for the relay (``keep_code``), whatever the email. Returns nothing either way."""
    keys = {throttle.digest("reset-email", email): throttle.max_failures}
    if address:
        keys[throttle.digest("reset-address", address)] = throttle.address_max_failures
    try:
        sign_ins.charge(uow, throttle, keys)
    except SignInThrottled as exc:
        seconds = int(exc.extra.get("retry_after", 1))
        raise PasswordResetThrottled(
            f"too many password reset requests; try again in {seconds} seconds",
            retry_after=seconds,
        ) from None
    uow.record(PasswordResetAsked(email_index=customers.email_index(email, vault=vault)))


def keep_code(
    uow: UnitOfWork,
    email_index: str,
    *,
    vault: PiiVault,
    hasher: CodeHasher,
    policy: ResetPolicy,
) -> int | None:
    """If the email of ``email_index`` (``customers.email_index``) is a verified email of a
    customer who signs in with a password, and they asked fewer than ``policy.per_account``
    times in the window, a new code (earlier ones superseded) for the relay to send: its row
    id. None otherwise."""
    found = _account_of(uow, email_index)
    if found is None:
        return None
    principal_id, identity_id = found
    now = uow.now
    # One person may have several emails: the per-account count holds across them (silently).
    since = now - timedelta(seconds=policy.window_seconds)
    if repo.reset_codes_since(uow.session, principal_id, since) >= policy.per_account:
        return None
    repo.supersede_reset_codes(uow.session, principal_id)
    code = f"{secrets.randbelow(10**policy.digits):0{policy.digits}d}"
    row = repo.add_reset_code(
        uow.session,
        PasswordResetCode(
            principal_id=principal_id,
            identity_id=identity_id,
            code_hash=hasher.hash(code),
            code_enc=vault.encrypt(CODE_FIELD, code),
            status="pending",
            attempts=0,
            created_at=now,
            expires_at=now + timedelta(seconds=policy.ttl_seconds),
        ),
    )
    uow.record(PasswordResetCodeRequested(code_id=row.id, principal_id=principal_id))
    return row.id


def _account_of(uow: UnitOfWork, email_index: str) -> tuple[int, int] | None:
    """(principal id, identity id) for a verified email of an active customer with an active
    password sign-in, found by its blind index."""
    for identity_id, cluster in customers.verified_email_owners_of_index(uow, email_index):
        principal = repo.by_customer(uow.session, cluster)
        if (
            principal is not None
            and principal.active
            and principal.role == Role.CUSTOMER.value
            and principal.password_hash
        ):
            return principal.id, identity_id
    return None


def redeem_code(
    write: sign_ins.UowFactory,
    email: str,
    code: str,
    new: str,
    *,
    vault: PiiVault,
    hasher: CodeHasher,
    policy: ResetPolicy,
) -> AuthPrincipal:
    """Checks the code (a wrong one is counted: committed, then refused) and sets the new
    password. Customers have no username, so the password policy does not depend on who asks
    and is checked first; the Argon2 hash is made whatever the outcome."""
    service.password_policy(new, None, field="new_password")
    new_hash = hash_password(new)
    with write() as uow:
        found = _account_of(uow, customers.email_index(email, vault=vault))
        row = repo.lock_pending_reset_code(uow.session, found[0]) if found else None
        principal = _use(uow, row, code, new_hash, hasher=hasher, policy=policy)
        if principal is not None:
            subject = f"/auth/principals/{principal.id}"
            service.record_audit(
                uow,
                principal,
                action="POST /auth/password-reset",
                area="auth",
                subject=subject,
                detail={"via": "emailed code", "code_id": row.id if row else None},
            )
    if principal is None:
        raise InvalidResetCode(WRONG, field="code")
    return principal


def _use(
    uow: UnitOfWork,
    row: PasswordResetCode | None,
    code: str,
    new_hash: str,
    *,
    hasher: CodeHasher,
    policy: ResetPolicy,
) -> AuthPrincipal | None:
    if row is None:
        return None
    if uow.now >= row.expires_at:
        row.status, row.code_enc = "expired", None
        uow.session.flush()
        return None
    row.attempts += 1
    if not hasher.matches(row.code_hash, code.strip()):
        if row.attempts >= policy.max_attempts:
            row.status, row.code_enc = "locked", None
        uow.session.flush()
        return None
    row.status, row.code_enc, row.used_at = "used", None, uow.now
    uow.session.flush()
    return service.set_password_hash(uow, row.principal_id, new_hash, expected_version=None)
