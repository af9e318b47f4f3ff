"""Password sign-in with throttling: the one path the API token endpoint, the console form
and password changes use.

Every attempt is charged before the password is checked (one short write transaction on its
counters), so parallel guesses cannot slip past the limit; the Argon2 check then runs outside
any write transaction, and a success clears the account's counters. A locked counter answers
``SignInThrottled`` (429) whatever the password, until its lock-out passes; each lock-out after
the limit doubles.

Three counters an attempt: the account from this client address (``max_failures``, 5), the
client address over every account (``address_max_failures``, 50) and the account from every
address together (``account_max_failures``, 50). So a guesser locks themselves out of an
account, not its owner, who signs in from another address; only guesses from many addresses
at once lock the account itself.

The counters are keyed by an HMAC of ``account:<name>``, ``account-at:<name> <ip>`` and
``address:<ip>``: an unknown username is throttled exactly like a known one (no enumeration
through 429s), and the table holds no email address.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from omniretail.auth import repository as repo
from omniretail.auth import service
from omniretail.auth.errors import SignInThrottled
from omniretail.auth.models import SignInThrottle
from omniretail.auth.security import AuthPrincipal, hash_password
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault

UowFactory = Callable[[], AbstractContextManager[UnitOfWork]]


class _ThrottleSettings(Protocol):
    sign_in_max_failures: int
    sign_in_address_max_failures: int
    sign_in_account_max_failures: int
    sign_in_window_seconds: int
    sign_in_lockout_seconds: int
    sign_in_lockout_cap_seconds: int


@dataclass(frozen=True)
class Throttle:
    key: bytes
    max_failures: int = 5
    address_max_failures: int = 50
    account_max_failures: int = 50
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(seconds=60)
    cap: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: _ThrottleSettings, keyring: Keyring) -> Throttle:
        return cls(
            key=keyring.derive("sign-in-throttle"),
            max_failures=settings.sign_in_max_failures,
            address_max_failures=settings.sign_in_address_max_failures,
            account_max_failures=settings.sign_in_account_max_failures,
            window=timedelta(seconds=settings.sign_in_window_seconds),
            lockout=timedelta(seconds=settings.sign_in_lockout_seconds),
            cap=timedelta(seconds=settings.sign_in_lockout_cap_seconds),
        )

    def digest(self, kind: str, value: str) -> str:
        message = f"{kind}:{value.strip().lower()}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def lock_for(self, failures: int, limit: int) -> timedelta | None:
        if failures < limit:
            return None
        doublings = min(failures - limit, 30)
        return min(self.cap, self.lockout * (1 << doublings))


def charge(uow: UnitOfWork, throttle: Throttle, keys: dict[str, int]) -> None:
    """Counts one attempt against each key (digest -> its limit), or raises
    ``SignInThrottled`` (changing nothing) while any of them is locked out."""
    now = uow.now
    repo.purge_throttles(uow.session, now, keep=list(keys))
    rows = repo.lock_throttles(uow.session, list(keys), now)
    waits = [r.locked_until - now for r in rows if r.locked_until and r.locked_until > now]
    if waits:
        seconds = max(1, math.ceil(max(waits).total_seconds()))
        raise SignInThrottled(
            f"too many failed sign-ins; try again in {seconds} seconds",
            retry_after=seconds,
        )
    for row in rows:
        _count(row, throttle, keys[row.key_hash], now)


def _count(row: SignInThrottle, throttle: Throttle, limit: int, now: datetime) -> None:
    quiet_since = row.locked_until or row.last_failure_at
    if row.failures and now - quiet_since >= throttle.window:
        row.failures = 0  # forgotten after a quiet window
    row.failures += 1
    row.last_failure_at = now
    lock = throttle.lock_for(row.failures, limit)
    row.locked_until = now + lock if lock is not None else None
    row.forget_after = (row.locked_until or now) + throttle.window


def succeeded(uow: UnitOfWork, accounts: list[str], address: str | None) -> None:
    """The right password: the account's counters start afresh; the address's attempt is
    given back."""
    for account in accounts:
        repo.clear_throttle(uow.session, account)
    if address is not None:
        repo.give_back_attempt(uow.session, address)


def sign_in(
    write: UowFactory,
    read: UowFactory,
    username: str,
    password: str,
    *,
    vault: PiiVault,
    throttle: Throttle,
    address: str | None,
) -> AuthPrincipal:
    """Charge, check (one Argon2 verification whatever the outcome), then clear on success."""
    account = throttle.digest("account", username)
    keys = {account: throttle.max_failures}
    client = None
    if address:
        client = throttle.digest("address", address)
        from_here = throttle.digest("account-at", f"{username.strip()} {address}")
        keys = {
            from_here: throttle.max_failures,
            account: throttle.account_max_failures,
            client: throttle.address_max_failures,
        }
    with write() as uow:
        charge(uow, throttle, keys)
    with read() as uow:
        principal = service.check_credentials(uow, username, password, vault=vault)
    with write() as uow:
        succeeded(uow, [k for k in keys if k != client], client)
    return principal


def change_password(
    write: UowFactory,
    read: UowFactory,
    principal_id: int,
    current: str,
    new: str,
    *,
    throttle: Throttle,
) -> AuthPrincipal:
    """A signed-in principal changes their own password. Guesses of the current password are
    throttled like sign-ins; the change ends every session and token issued before it (the
    answer carries the principal to issue a fresh token for)."""
    key = throttle.digest("principal", str(principal_id))
    with read() as uow:
        service.check_password_policy(uow, principal_id, new)
    with write() as uow:
        charge(uow, throttle, {key: throttle.max_failures})
    with read() as uow:
        version = service.verify_own_password(uow, principal_id, current)
    new_hash = hash_password(new)
    with write() as uow:
        repo.clear_throttle(uow.session, key)
        principal = service.set_password_hash(uow, principal_id, new_hash, expected_version=version)
        _audit(uow, principal, "POST /auth/password")
        return principal


def reset_password(write: UowFactory, read: UowFactory, token: str, new: str) -> AuthPrincipal:
    """A one-time reset token (from an admin) sets a new password: single use, expiring; the
    reset also ends every earlier session."""
    with read() as uow:
        principal_id = service.reset_token_principal(uow, token)
        service.check_password_policy(uow, principal_id, new)
    new_hash = hash_password(new)
    with write() as uow:
        principal = service.redeem_password_reset(uow, token, new_hash)
        _audit(uow, principal, "POST /auth/password-reset")
        return principal


def _audit(uow: UnitOfWork, principal: AuthPrincipal, action: str) -> None:
    subject = f"/auth/principals/{principal.id}"
    service.record_audit(uow, principal, action=action, area="auth", subject=subject)
