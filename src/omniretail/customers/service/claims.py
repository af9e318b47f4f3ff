"""A signed-in customer adding their own email or phone: a self-service claim.

Anybody can type anybody's address, so a customer's claim (``POST
/customers/{id}/identities`` with a customer's token) proves nothing and must tell nothing:
it is stored unverified (``source`` ``self-service``), takes part in nothing until it is
verified (``identities.takes_part``: no match, no merge review, no look-up, no message), and a
code is sent to it. ``claim_identity`` reads no other profile's row at all, so its answer
(``IdentityClaim``: the claim's own id, the masked address the code went to) and its time are
the same whether or not the address is someone else's.

Entering the code (``confirm_claim``) runs resolution as any verification does
(``identities.confirm_identity``), except that a claim proven against another profile's
verified identifier queues a review for staff instead of merging; the customer is told only
about their own identifier (verified, or in review). Claims count per profile per UTC day
(``identity_claims_per_day``) in ``code_send_quotas`` by a conditional increment, so the limit
holds across processes on both databases (429 with Retry-After beyond). Cards, till customer
numbers, devices and external ids are recorded by staff or the system that reads them: a
customer's claim of one is refused (403)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from omniretail.customers import repository as repo
from omniretail.customers.errors import IdentityClaimsLimited, NotSelfClaimable
from omniretail.customers.models import (
    CLAIMS_QUOTA,
    SELF_SERVICE_CLAIM,
    CodePurpose,
    Identity,
    IdentityKind,
)
from omniretail.customers.schemas import IdentityClaim, IdentityCreate
from omniretail.customers.service.clusters import require_root
from omniretail.customers.service.identities import _insert_identity, require_identity
from omniretail.customers.service.verification import (
    CodeCheck,
    CodeHasher,
    CodePolicy,
    confirm_code,
    issue_code,
)
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.vault import PiiVault

SELF_CLAIMABLE = frozenset({IdentityKind.EMAIL, IdentityKind.PHONE})


def claim_identity(
    uow: UnitOfWork,
    customer_id: int,
    data: IdentityCreate,
    *,
    vault: PiiVault,
    hasher: CodeHasher,
    policy: CodePolicy,
    per_day: int,
    actor: str,
) -> IdentityClaim:
    """Stores the claim unverified (or finds the profile's own row) and sends it a code;
    ``NotSelfClaimable`` for a kind customers do not claim, ``IdentityClaimsLimited`` past
    ``per_day``, the code policy's ``VerificationRateLimited`` past its send limits."""
    if data.kind not in SELF_CLAIMABLE:
        raise NotSelfClaimable(
            f"a {data.kind.value} is recorded by staff or by the system that reads it (a card"
            " scan, the till); customers add their own email or phone",
            field="kind",
        )
    root = require_root(uow, customer_id)
    repo.lock_customers(uow.session, [root.id])  # one claim at a time per person
    _take_claim(uow, root.id, per_day)
    kind = data.kind.value
    claim = data.model_copy(update={"scope": "", "source": SELF_SERVICE_CLAIM})
    index = vault.blind_index(kind, claim.value)
    own_ids = repo.cluster_ids(uow.session, root.id)
    own = repo.own_identities(uow.session, own_ids, kind, "", index)
    verified = next((i for i in own if i.verified), None)
    if verified is not None:
        return _answer(verified, "verified", f"this {kind} is already verified on your profile")
    identity = own[0] if own else _insert_identity(uow, customer_id, claim, "", index, vault)
    sent = issue_code(
        uow,
        identity,
        CodePurpose.IDENTITY,
        vault=vault,
        hasher=hasher,
        policy=policy,
        actor=actor,
    )
    return IdentityClaim(
        identity_id=identity.id,
        kind=data.kind,
        status="code_sent",
        explanation=f"a code was sent to {sent.destination}: enter it to verify this {kind}",
        verification=sent,
    )


def confirm_claim(
    uow: UnitOfWork,
    customer_id: int,
    identity_id: int,
    code: str,
    *,
    hasher: CodeHasher,
    policy: CodePolicy,
    actor: str,
) -> CodeCheck:
    """``confirm_code`` for a signed-in customer: the outcome as ``claim``, about their own
    identifier only (the resolution's other profiles, reviews and merges are staff's)."""
    check = confirm_code(
        uow, customer_id, identity_id, code, hasher=hasher, policy=policy, actor=actor
    )
    if check.resolution is None:
        return check
    identity = require_identity(uow, customer_id, identity_id)
    own_ids = repo.cluster_ids(uow.session, require_root(uow, customer_id).id)
    same = repo.own_identities(
        uow.session, own_ids, identity.kind, identity.scope, identity.value_index
    )
    if any(i.verified for i in same):  # this row, or the one of a profile it merged with
        answer = _answer(identity, "verified", f"your {identity.kind} is verified")
    else:  # proven, and verified on another account too: staff decide (no merge)
        answer = _answer(
            identity,
            "in_review",
            f"the code is right; our staff check this {identity.kind} before it joins your profile",
        )
    return CodeCheck(claim=answer)


def _answer(
    identity: Identity, status: Literal["verified", "in_review"], explanation: str
) -> IdentityClaim:
    return IdentityClaim(
        identity_id=identity.id,
        kind=IdentityKind(identity.kind),
        status=status,
        explanation=explanation,
    )


def _take_claim(uow: UnitOfWork, root_id: int, per_day: int) -> None:
    """Counts one claim of the profile today, or refuses it (nothing else written)."""
    day = uow.now.replace(hour=0, minute=0, second=0, microsecond=0)
    if repo.take_send_quota(uow.session, f"profile:{root_id}", CLAIMS_QUOTA, day, per_day):
        return
    retry = max(int((day + timedelta(days=1) - uow.now).total_seconds()), 1)
    raise IdentityClaimsLimited(
        f"{per_day} emails or phone numbers were added to this profile today, the most"
        " allowed: try again tomorrow",
        field="customer_id",
        retry_after_seconds=retry,
    )
