"""Platform verification of email and phone identities with one-time codes.

Nobody declares an identifier verified. ``request_code`` makes a code, keeps a keyed hash of
it (HMAC-SHA256 under a key derived from the key ring, salted per code) and its ciphertext
(the PII vault) for the relay, and records ``identity_code_requested`` without the code; the
handler (``customers.handlers.send_identity_code``) sends it by email or SMS after commit and
blanks the ciphertext. ``confirm_code`` checks a code: short-lived, single use, a few wrong
guesses per code, and sends are limited per identity and per person, counted apart for each
purpose (a till's presence codes never use up a person's sign-up codes) in the database under
the profile's row lock so the limits hold across processes; a purpose may also limit what one
staff principal sends in an hour across all customers (``take_send_quota``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from omniretail.customers import repository as repo
from omniretail.customers.errors import (
    CodeSendsLimited,
    IdentityAlreadyVerified,
    NotVerifiableByCode,
    VerificationCodeInvalid,
    VerificationCodeLocked,
    VerificationRateLimited,
)
from omniretail.customers.events import IdentityCodeRequested
from omniretail.customers.models import CodePurpose, Identity, IdentityKind, VerificationCode
from omniretail.customers.schemas import (
    CodeSendQuotaRead,
    IdentityClaim,
    Resolution,
    VerificationSent,
)
from omniretail.customers.service.clusters import require_root
from omniretail.customers.service.identities import confirm_identity, require_identity
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault
from omniretail.settings import Settings

CHANNELS = {IdentityKind.EMAIL.value: "email", IdentityKind.PHONE.value: "sms"}
CODE_FIELD = "verification-code"


@dataclass(frozen=True)
class CodePolicy:
    digits: int = 6
    ttl_seconds: int = 600
    max_attempts: int = 5
    sends_per_window: int = 3
    window_seconds: int = 900
    sends_per_day: int = 10
    # Per staff principal per hour, across customers (None: no such limit).
    principal_sends_per_hour: int | None = None
    # A presence code's own limits (``presence.presence_policy`` applies them).
    presence_sends_per_day: int = 10
    presence_principal_sends_per_hour: int = 30


class CodeHasher:
    def __init__(self, keyring: Keyring) -> None:
        self._key = keyring.derive("identity-verification-code")

    def hash(self, code: str, salt: str | None = None) -> str:
        salt = salt or secrets.token_hex(8)
        digest = hmac.new(self._key, f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()
        return f"{salt}${digest}"

    def matches(self, stored: str, code: str) -> bool:
        salt, _, _digest = stored.partition("$")
        return hmac.compare_digest(stored, self.hash(code, salt))


@lru_cache(maxsize=8)
def hasher_for(keyring: Keyring) -> CodeHasher:
    return CodeHasher(keyring)


class CodeCheck(BaseModel):
    """The outcome of a code check. A wrong code still changes the database (the attempt is
    counted), so it is returned rather than raised, and the route raises after commit."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    resolution: Resolution | None = None
    refused: DomainError | None = None
    # What a signed-in customer is told instead of ``resolution`` (``claims.confirm_claim``).
    claim: IdentityClaim | None = None


def request_code(
    uow: UnitOfWork,
    customer_id: int,
    identity_id: int,
    *,
    vault: PiiVault,
    hasher: CodeHasher,
    policy: CodePolicy,
    actor: str,
) -> VerificationSent:
    identity = require_identity(uow, customer_id, identity_id)
    channel = CHANNELS.get(identity.kind)
    if channel is None:
        raise NotVerifiableByCode(
            f"a {identity.kind} is verified by the system that reads it (a card scan, a login),"
            " not by a code",
            field="identity_id",
        )
    if identity.verified:
        raise IdentityAlreadyVerified(f"identity {identity_id} is verified", field="identity_id")
    return issue_code(
        uow,
        identity,
        CodePurpose.IDENTITY,
        vault=vault,
        hasher=hasher,
        policy=policy,
        actor=actor,
    )


def issue_code(
    uow: UnitOfWork,
    identity: Identity,
    purpose: CodePurpose,
    *,
    vault: PiiVault,
    hasher: CodeHasher,
    policy: CodePolicy,
    actor: str,
    bound_to: str | None = None,
) -> VerificationSent:
    """Makes a code of ``purpose`` for an email or phone identity (superseding its pending one
    of that purpose), within the send limits, which count the codes of that purpose only."""
    channel = CHANNELS[identity.kind]
    root = require_root(uow, identity.customer_id)
    repo.lock_customers(uow.session, [root.id])  # one sender at a time per person
    now = uow.now
    in_window, in_day = repo.codes_sent_since(
        uow.session,
        identity_id=identity.id,
        customer_ids=repo.cluster_ids(uow.session, root.id),
        purpose=purpose.value,
        window=now - timedelta(seconds=policy.window_seconds),
        day=now - timedelta(days=1),
    )
    if in_window >= policy.sends_per_window:
        raise VerificationRateLimited(
            f"{in_window} codes were sent for this identity in the last"
            f" {policy.window_seconds // 60} minutes; wait before asking again",
            field="identity_id",
            retry_after_seconds=policy.window_seconds,
        )
    if in_day >= policy.sends_per_day:
        raise VerificationRateLimited(
            f"{in_day} codes were sent for this customer in the last 24 hours; try tomorrow",
            field="customer_id",
            retry_after_seconds=86400,
        )
    limit = policy.principal_sends_per_hour
    if limit is not None and not repo.take_send_quota(
        uow.session, actor, purpose.value, quota_hour(now), limit
    ):
        raise CodeSendsLimited(
            f"this account sent {limit} {purpose.value} codes in this hour, the most allowed:"
            " wait before sending another",
            field="customer_id",
            retry_after_seconds=max(int((quota_hour(now) + _HOUR - now).total_seconds()), 1),
        )
    repo.supersede_codes(uow.session, identity.id, purpose.value)
    code = f"{secrets.randbelow(10**policy.digits):0{policy.digits}d}"
    row = repo.add_code(
        uow.session,
        VerificationCode(
            identity_id=identity.id,
            customer_id=root.id,
            channel=channel,
            code_hash=hasher.hash(code),
            code_enc=vault.encrypt(CODE_FIELD, code),
            status="pending",
            attempts=0,
            created_at=now,
            expires_at=now + timedelta(seconds=policy.ttl_seconds),
            requested_by=actor,
            purpose=purpose.value,
            bound_to=bound_to,
        ),
    )
    uow.record(
        IdentityCodeRequested(
            customer_id=root.id,
            code_id=row.id,
            identity_id=identity.id,
            channel=channel,
        )
    )
    value = vault.decrypt("identity", identity.value_enc) or ""
    return VerificationSent(
        identity_id=identity.id,
        channel=channel,
        destination=mask(identity.kind, value),
        expires_at=row.expires_at,
        sends_left_in_window=policy.sends_per_window - in_window - 1,
    )


_HOUR = timedelta(hours=1)


def quota_hour(now: datetime) -> datetime:
    """The clock hour a principal's sends are counted in."""
    return now.replace(minute=0, second=0, microsecond=0)


def note_refused_send(uow: UnitOfWork, purpose: CodePurpose, *, actor: str) -> CodeSendQuotaRead:
    """Counts a send ``CodeSendsLimited`` refused (its own transaction, after the refusal
    rolled back: the route writes the request's audit-log row with it)."""
    hour = quota_hour(uow.now)
    row = repo.count_refused_send(uow.session, actor, purpose.value, hour)
    if row is None:  # the hour turned between the refusal and now
        return CodeSendQuotaRead(
            principal=actor, purpose=purpose.value, hour=hour, sent=0, refused=0
        )
    return CodeSendQuotaRead.model_validate(row, from_attributes=True)


def confirm_code(
    uow: UnitOfWork,
    customer_id: int,
    identity_id: int,
    code: str,
    *,
    hasher: CodeHasher,
    policy: CodePolicy,
    actor: str,
) -> CodeCheck:
    identity = require_identity(uow, customer_id, identity_id)
    if identity.verified:
        raise IdentityAlreadyVerified(f"identity {identity_id} is verified", field="identity_id")
    row = repo.lock_pending_code(uow.session, identity.id, CodePurpose.IDENTITY.value)
    if row is None:
        raise VerificationCodeInvalid(
            "no code is waiting for this identity (used, expired or never sent): ask for a new one",
            field="code",
        )
    refused = spend_code(uow, row, code, hasher=hasher, policy=policy)
    if refused is not None:
        return CodeCheck(refused=refused)
    resolution = confirm_identity(
        uow,
        customer_id,
        identity.id,
        via="code",
        by=actor,
        reference=f"code #{row.id} sent by {row.channel}",
        actor=actor,
    )
    return CodeCheck(resolution=resolution)


def spend_code(
    uow: UnitOfWork, row: VerificationCode, code: str, *, hasher: CodeHasher, policy: CodePolicy
) -> DomainError | None:
    """Checks a locked pending code: used up when it matches; otherwise the refusal, with the
    attempt counted (and the code locked after ``max_attempts``) or the code expired."""
    if uow.now >= row.expires_at:
        row.status, row.code_enc = "expired", None
        uow.session.flush()
        return VerificationCodeInvalid("the code has expired: ask for a new one", field="code")
    row.attempts += 1
    if not hasher.matches(row.code_hash, code.strip()):
        left = policy.max_attempts - row.attempts
        if left <= 0:
            row.status, row.code_enc = "locked", None
        uow.session.flush()
        if left <= 0:
            return VerificationCodeLocked(
                f"{row.attempts} wrong codes: this code no longer works; ask for a new one",
                field="code",
            )
        return VerificationCodeInvalid(
            f"wrong code ({left} tries left)", field="code", attempts_left=left
        )
    row.status, row.code_enc, row.used_at = "used", None, uow.now
    uow.session.flush()
    return None


def mask(kind: str, value: str) -> str:
    """``a***@example.com``, ``*******4567``: enough to recognise, not to learn."""
    if kind == IdentityKind.EMAIL.value and "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return "*" * max(len(value) - 4, 0) + value[-4:]


def code_policy_of(settings: Settings) -> CodePolicy:
    return CodePolicy(
        digits=settings.identity_code_digits,
        ttl_seconds=settings.identity_code_ttl_seconds,
        max_attempts=settings.identity_code_max_attempts,
        sends_per_window=settings.identity_code_sends_per_window,
        window_seconds=settings.identity_code_window_seconds,
        sends_per_day=settings.identity_code_sends_per_day,
        presence_sends_per_day=settings.presence_code_sends_per_day,
        presence_principal_sends_per_hour=settings.presence_code_sends_per_principal_hour,
    )
