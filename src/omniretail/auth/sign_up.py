"""Customers signing themselves up in the shop: a profile with a claimed email and a sign-in
that stays disabled until the email is verified with the one-time code
(``customers.service.verification``).

``start`` answers the same way whatever the email: every request is counted (per email and
per client address, ``sign_in_throttles`` under keys of their own) and hashes the password.
If the email is already a verified email of a customer who signs in, nothing is created:
the owner is told by email that someone tried to sign up with it (``SignUpForExistingAccount``),
so a sign-up never attaches a sign-in to someone else's profile. Otherwise a new profile is
made with the email claimed, a disabled sign-in, and a code is sent to the email.

``complete`` checks the code for that profile's email; only then is the sign-in enabled. A
profile found with the same verified email (a store customer without a sign-in) is merged
with the new one by the customers domain's resolution: proving the email proves the person.
An unverified sign-up can never sign in, so claiming someone's email in advance gains nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from omniretail.auth import repository as repo
from omniretail.auth import service
from omniretail.auth import sign_in as sign_ins
from omniretail.auth.errors import PasswordResetThrottled, SignInThrottled
from omniretail.auth.events import SignUpForExistingAccount
from omniretail.auth.models import Principal, Role
from omniretail.auth.security import AuthPrincipal, hash_password
from omniretail.customers import service as customers
from omniretail.customers.errors import VerificationCodeInvalid, VerificationRateLimited
from omniretail.customers.schemas import SHOP_SIGN_UP, CustomerCreate, IdentityCreate, IdentityKind
from omniretail.customers.service import CodeHasher, CodePolicy
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault

# A self-service source: the sign-up's unverified email matches nobody and queues no review
# (``customers.service.identities.takes_part``); the code, once entered, resolves it.
SOURCE = SHOP_SIGN_UP


class _Settings(Protocol):
    reset_requests_per_window: int
    reset_address_requests_per_window: int
    reset_window_seconds: int


def throttle_for(s: _Settings, keyring: Keyring) -> sign_ins.Throttle:
    """Counted like password reset requests (the same limits), under a key of its own."""
    window = timedelta(seconds=s.reset_window_seconds)
    return sign_ins.Throttle(
        key=keyring.derive("sign-up-throttle"),
        max_failures=s.reset_requests_per_window,
        address_max_failures=s.reset_address_requests_per_window,
        window=window,
        lockout=window,
        cap=window * 8,
    )


def sends_throttles(
    policy: CodePolicy, throttle: sign_ins.Throttle
) -> tuple[sign_ins.Throttle, ...]:
    """The codes sent for one sign-up's email, counted the same whether a code is really
    sent or the email already has an account (a decoy): the limits of ``policy``, per window
    and per day, so the decoy is refused exactly when the real one would be (these counts
    are never below the code policy's own, which counts one identity's sends)."""
    key = throttle.key  # the sign-up throttle's key; the digests name their own kinds
    window, day = timedelta(seconds=policy.window_seconds), timedelta(days=1)
    return (
        sign_ins.Throttle(key, policy.sends_per_window, window=window, lockout=window, cap=window),
        sign_ins.Throttle(key, policy.sends_per_day, window=day, lockout=day, cap=day),
    )


def sends_key(throttle: sign_ins.Throttle, email: str) -> str:
    """What a sign-up's sends are counted by: a keyed digest of its email (kept in the
    browser's cookie, so not the email itself)."""
    return throttle.digest("sign-up-sends", email)


def _charge_send(uow: UnitOfWork, throttles: tuple[sign_ins.Throttle, ...], key: str) -> None:
    """Raises ``VerificationRateLimited`` (as the code policy does) beyond the limits."""
    for kind, throttle in zip(("window", "day"), throttles, strict=True):
        digest = throttle.digest(f"sign-up-sends-{kind}", key)
        try:
            sign_ins.charge(uow, throttle, {digest: throttle.max_failures})
        except SignInThrottled as exc:
            raise VerificationRateLimited(
                "several codes were sent already; wait before asking again",
                field="identity_id",
                retry_after_seconds=int(exc.extra.get("retry_after", 1)),
            ) from None


@dataclass(frozen=True)
class Pending:
    """A sign-up waiting for its code; ``None`` ids when nothing was created (the email
    already has an account) so that callers answer exactly as for a real one. Both count
    their sends by ``sends_key`` (``sends_throttles``)."""

    customer_id: int | None
    identity_id: int | None
    sends_key: str = ""


def start(
    uow: UnitOfWork,
    email: str,
    name: str,
    password: str,
    address: str | None,
    *,
    vault: PiiVault,
    hasher: CodeHasher,
    policy: CodePolicy,
    throttle: sign_ins.Throttle,
) -> Pending:
    """Raises ``PasswordResetThrottled`` (nothing written) beyond the limits, ``WeakPassword``
    for a password the policy refuses; otherwise the same outcome for every email."""
    email = email.strip()
    service.password_policy(password, None)
    keys = {throttle.digest("sign-up-email", email): throttle.max_failures}
    if address:
        keys[throttle.digest("sign-up-address", address)] = throttle.address_max_failures
    try:
        sign_ins.charge(uow, throttle, keys)
    except SignInThrottled as exc:
        seconds = int(exc.extra.get("retry_after", 1))
        raise PasswordResetThrottled(
            f"too many sign-ups; try again in {seconds} seconds", retry_after=seconds
        ) from None
    try:
        _charge_send(uow, sends_throttles(policy, throttle), sends_key(throttle, email))
    except VerificationRateLimited as exc:
        seconds = int(exc.extra.get("retry_after_seconds", 1))
        raise PasswordResetThrottled(
            f"too many sign-ups; try again in {seconds} seconds", retry_after=seconds
        ) from None
    password_hash = hash_password(password)  # whatever happens next: the same work every time
    owner = _existing_account(uow, email, vault)
    if owner is not None:
        principal_id, identity_id = owner
        uow.record(SignUpForExistingAccount(principal_id=principal_id, identity_id=identity_id))
        return Pending(None, None, sends_key(throttle, email))
    actor = f"system:{SOURCE}"
    created = customers.create_customer(
        uow,
        CustomerCreate(
            name=name.strip() or None,
            identities=[IdentityCreate(kind=IdentityKind.EMAIL, value=email, source=SOURCE)],
        ),
        vault=vault,
        actor=actor,
    )
    customer_id = created.customer.id
    identity = next(
        i
        for i in customers.list_identities(uow, customer_id, vault=vault)
        if i.kind == IdentityKind.EMAIL and i.customer_id == customer_id
    )
    repo.add_principal(
        uow.session,
        Principal(
            username=None,
            kind="person",
            role=Role.CUSTOMER.value,
            password_hash=password_hash,
            customer_id=customer_id,
            active=False,  # enabled by ``complete``
            created_at=uow.now,
            permissions=[],
        ),
    )
    customers.request_code(
        uow, customer_id, identity.id, vault=vault, hasher=hasher, policy=policy, actor=actor
    )
    return Pending(customer_id, identity.id, sends_key(throttle, email))


def _existing_account(uow: UnitOfWork, email: str, vault: PiiVault) -> tuple[int, int] | None:
    """(principal id, identity id) if the email is a verified email of a customer who has an
    active sign-in."""
    for identity_id, cluster in customers.verified_email_owners(uow, email, vault=vault):
        principal = repo.by_customer(uow.session, cluster)
        if principal is not None and principal.active and principal.role == Role.CUSTOMER.value:
            return principal.id, identity_id
    return None


def resend(
    uow: UnitOfWork,
    pending: Pending,
    *,
    vault: PiiVault,
    hasher: CodeHasher,
    policy: CodePolicy,
    throttle: sign_ins.Throttle,
) -> None:
    """A new code for a sign-up still waiting; nothing otherwise (a decoy). Both count
    against the same limits (``sends_throttles``): ``VerificationRateLimited`` beyond them."""
    if pending.sends_key:
        _charge_send(uow, sends_throttles(policy, throttle), pending.sends_key)
    if pending.customer_id is None or pending.identity_id is None:
        return
    principal = repo.by_customer(uow.session, [pending.customer_id])
    if principal is None or principal.active:
        return
    customers.request_code(
        uow,
        pending.customer_id,
        pending.identity_id,
        vault=vault,
        hasher=hasher,
        policy=policy,
        actor=f"system:{SOURCE}",
    )


@dataclass(frozen=True)
class Outcome:
    """The signed-in principal, or why the code was refused (a wrong code is counted, so it
    is returned to be raised after commit)."""

    principal: AuthPrincipal | None = None
    refused: DomainError | None = None


def complete(
    uow: UnitOfWork, pending: Pending, code: str, *, hasher: CodeHasher, policy: CodePolicy
) -> Outcome:
    nothing = Outcome(refused=VerificationCodeInvalid(WRONG_CODE, field="code"))
    if pending.customer_id is None or pending.identity_id is None:
        return nothing
    principal = repo.by_customer(uow.session, [pending.customer_id])
    if principal is None or principal.active:
        return nothing
    try:
        check = customers.confirm_code(
            uow,
            pending.customer_id,
            pending.identity_id,
            code,
            hasher=hasher,
            policy=policy,
            actor=f"system:{SOURCE}",
        )
    except DomainError:
        return nothing
    if check.refused is not None:
        return nothing
    repo.set_active(uow.session, principal.id, True)
    uow.session.refresh(principal)
    signed_in = service.as_auth(principal)
    service.record_audit(
        uow,
        signed_in,
        action="POST /console/sign-up",
        area="auth",
        subject=f"/auth/principals/{principal.id}",
        detail={"via": "emailed code"},
    )
    return Outcome(principal=signed_in)


WRONG_CODE = "this code is wrong, used or expired: check the email, or ask for a new code"
