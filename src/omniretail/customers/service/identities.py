"""Identities: claims, verification and the resolution it runs (merge or review)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from omniretail.customers import repository as repo
from omniretail.customers.errors import (
    UnknownIdentity,
)
from omniretail.customers.events import (
    IdentityAdded,
    IdentityUnverified,
    IdentityVerified,
    MergeReviewQueued,
)
from omniretail.customers.models import (
    SELF_SERVICE_CLAIM,
    SELF_SERVICE_SOURCES,
    CustomerStatus,
    Identity,
    IdentityKind,
    MergeReview,
)
from omniretail.customers.schemas import (
    IdentityCreate,
    IdentityRead,
    Resolution,
)
from omniretail.customers.service.clusters import cluster, require_root, resolve_id
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.vault import PiiVault

# --- identities and their resolution -------------------------------------------------------


def add_identity(
    uow: UnitOfWork, customer_id: int, data: IdentityCreate, *, vault: PiiVault, actor: str
) -> Resolution:
    """Adds an identifier as claimed, and resolves it deterministically:

    - found on another profile (claimed or verified there) -> a review is queued, never a
      merge: a claim proves nothing, however the other side was verified;
    - otherwise the identifier is simply added (or kept, if the profile holds it already).

    A customer's own claim (``source`` in ``SELF_SERVICE_SOURCES``: the shop's sign-up, a
    signed-in customer's claim through ``claims.claim_identity``) is only stored: nobody
    else's row is read, and it takes part in matching once verified.

    It becomes verified only through ``confirm_identity`` (a one-time code, or a system's
    attestation), which alone may merge.
    """
    root = require_root(uow, customer_id)
    kind, scope = data.kind.value, data.scope.strip().upper() if data.scope else ""
    index = vault.blind_index(kind, data.value)
    own_ids = set(repo.cluster_ids(uow.session, root.id))
    if data.source in SELF_SERVICE_SOURCES:
        existing = repo.own_identities(uow.session, sorted(own_ids), kind, scope, index)
    else:
        existing = repo.find_identities(uow.session, kind, scope, index)
    mine = [i for i in existing if i.customer_id in own_ids]
    others = _other_active_matches(uow, existing, own_ids)
    if mine:
        outcome, explanation = "kept", f"the profile already holds this {kind}"
    else:
        _insert_identity(uow, customer_id, data, scope, index, vault)
        outcome, explanation = "new", f"{kind} added (claimed: verify it with a code)"
    if others:
        return _review_claim(uow, root.id, kind, others)
    return Resolution(outcome=outcome, explanation=explanation, customer_id=root.id)


def takes_part(identity: Identity | Row[Any]) -> bool:
    """Whether a row counts as the profile's identifier for anyone else (matching, reviews,
    look-ups, messages): verified, or recorded by staff or a system. A customer's own
    unverified claim does not: anybody can type anybody's address."""
    return bool(identity.verified) or identity.source not in SELF_SERVICE_SOURCES


def confirm_identity(
    uow: UnitOfWork,
    customer_id: int,
    identity_id: int,
    *,
    via: str,
    by: str,
    reference: str,
    actor: str,
) -> Resolution:
    """The platform verified the identifier (``via`` a code it sent, or a system's own check,
    ``by`` whom, ``reference`` its record): resolution runs again.

    - verified with evidence on another profile too -> the two merge (the older survives);
    - verified on another profile without evidence (self-declared before 0011) -> that row
      goes back to claimed, this one is verified, and a review is queued;
    - claimed on another profile -> this one is verified and a review is queued.
    Callers are the code check (``verification.confirm_code``) and the route that only a
    system principal holding ``identities:verify`` reaches."""
    identity = require_identity(uow, customer_id, identity_id)
    root = require_root(uow, identity.customer_id)
    if identity.verified:
        return Resolution(
            outcome="kept",
            explanation=f"the {identity.kind} is already verified",
            customer_id=root.id,
        )
    kind = identity.kind
    own_ids = set(repo.cluster_ids(uow.session, root.id))
    existing = repo.find_identities(uow.session, kind, identity.scope, identity.value_index)
    if any(i.verified for i in existing if i.customer_id in own_ids):
        return Resolution(
            outcome="kept",
            explanation=f"the profile already holds this {kind}, verified",
            customer_id=root.id,
        )
    others = _other_active_matches(uow, existing, own_ids)
    proven = [i for i in others if i.verified and i.verified_by is not None]
    if proven and identity.source == SELF_SERVICE_CLAIM:
        return _review_proven_claim(uow, root.id, identity, proven, reference)
    if proven:
        from omniretail.customers.service import merges

        other_root = repo.root_of(uow.session, proven[0].customer_id)
        assert other_root is not None
        survivor, merged = sorted((root.id, other_root))
        merge = merges.merge_customers(
            uow,
            survivor,
            merged,
            rule=f"verified {kind}",
            reason=f"the same {kind} was verified on both profiles: identity #{proven[0].id}"
            f" ({proven[0].verified_via}, {proven[0].verification_ref}) and identity"
            f" #{identity.id} ({via}, {reference}, by {by})",
            actor=actor,
        )
        return Resolution(
            outcome="merged",
            rule=f"verified {kind}",
            explanation=f"the {kind} is verified on customer {other_root} too; verified"
            f" identifiers prove one person, so customer {merged} was merged into {survivor}",
            customer_id=survivor,
            matched_customer_ids=[other_root],
            merge_id=merge.id,
        )
    for unproven in (i for i in others if i.verified):
        unproven.verified, unproven.verified_via, unproven.verified_at = False, None, None
        unproven.verification_ref = f"unproven: superseded by identity #{identity.id}"
        uow.session.flush()
        uow.record(
            IdentityUnverified(customer_id=unproven.customer_id, identity_id=unproven.id, by=actor)
        )
    identity.verified, identity.verified_via, identity.verified_at = True, via, uow.now
    identity.verified_by, identity.verification_ref = by, reference
    uow.session.flush()
    uow.record(
        IdentityVerified(
            customer_id=identity.customer_id,
            identity_id=identity.id,
            via=via,
            by=by,
            reference=reference,
        )
    )
    if others:
        return _review_claim(uow, root.id, kind, others)
    return Resolution(
        outcome="verified", explanation=f"{kind} verified ({via})", customer_id=root.id
    )


def add_verified_identity(
    uow: UnitOfWork,
    customer_id: int,
    data: IdentityCreate,
    *,
    via: str,
    reference: str,
    vault: PiiVault,
    actor: str,
) -> Resolution:
    """For trusted in-process callers only (the demo, imports, tests): adds the identifier and
    confirms it on the caller's own evidence. No route reaches it."""
    added = add_identity(uow, customer_id, data, vault=vault, actor=actor)
    kind, scope = data.kind.value, data.scope.strip().upper() if data.scope else ""
    index = vault.blind_index(kind, data.value)
    own_ids = set(repo.cluster_ids(uow.session, resolve_id(uow, customer_id)))
    mine = [
        i for i in repo.find_identities(uow.session, kind, scope, index) if i.customer_id in own_ids
    ]
    confirmed = confirm_identity(
        uow, customer_id, mine[0].id, via=via, by=actor, reference=reference, actor=actor
    )
    if confirmed.outcome == "verified" and added.outcome == "queued":
        return added
    return confirmed


def _review_proven_claim(
    uow: UnitOfWork, root_id: int, identity: Identity, proven: Sequence[Identity], reference: str
) -> Resolution:
    """A signed-in customer proved an identifier (its code) that another profile holds
    verified too. That proves control of the mailbox or phone today, not that the two
    accounts are one person (a shared family address, a mailbox taken over), so nothing merges
    here and the claim stays unverified (a verified identifier has one profile): a person
    decides, and merging verifies it as one."""
    kind = identity.kind
    other_roots = sorted(
        {r for r in (repo.root_of(uow.session, i.customer_id) for i in proven) if r}
    )
    rule = f"proven {kind} claim"
    reviews = [
        _queue_review(
            uow,
            root_id,
            other,
            rule,
            explanation=f"the {kind} verified on customer {other} was proven by customer"
            f" {root_id} too ({reference}, identity #{identity.id}); two accounts, so a person"
            " decides",
        )
        for other in other_roots
    ]
    return Resolution(
        outcome="queued",
        rule=rule,
        explanation=f"the {kind} is verified on customer(s) {other_roots}; this profile proved"
        " it too, so a person decides whether they are one",
        customer_id=root_id,
        matched_customer_ids=other_roots,
        review_ids=[r for r in reviews if r is not None],
    )


def _review_claim(
    uow: UnitOfWork, root_id: int, kind: str, others: Sequence[Identity]
) -> Resolution:
    other_roots = sorted(
        {r for r in (repo.root_of(uow.session, i.customer_id) for i in others) if r}
    )
    rule = f"claimed {kind}"
    reviews = [_queue_review(uow, root_id, o, rule) for o in other_roots]
    return Resolution(
        outcome="queued",
        rule=rule,
        explanation=f"the {kind} also appears on customer(s) {other_roots} and is not verified"
        " on both sides by the platform (a shared family email or device is common), so a"
        " person decides",
        customer_id=root_id,
        matched_customer_ids=other_roots,
        review_ids=[r for r in reviews if r is not None],
    )


def list_identities(uow: UnitOfWork, customer_id: int, *, vault: PiiVault) -> list[IdentityRead]:
    ids = cluster(uow, customer_id)
    return [identity_read(i, vault) for i in repo.list_identities(uow.session, ids)]


def identity_read(identity: Identity | Row[Any], vault: PiiVault) -> IdentityRead:
    return IdentityRead(
        id=identity.id,
        customer_id=identity.customer_id,
        kind=IdentityKind(identity.kind),
        scope=identity.scope,
        value=vault.decrypt("identity", identity.value_enc) or "",
        verified=identity.verified,
        verified_via=identity.verified_via,
        verified_at=identity.verified_at,
        verified_by=getattr(identity, "verified_by", None),
        verification_ref=getattr(identity, "verification_ref", None),
        created_at=identity.created_at,
    )


def _insert_identity(
    uow: UnitOfWork,
    customer_id: int,
    data: IdentityCreate,
    scope: str,
    index: str,
    vault: PiiVault,
) -> Identity:
    identity = repo.add_identity(
        uow.session,
        Identity(
            customer_id=customer_id,
            kind=data.kind.value,
            scope=scope,
            value_index=index,
            value_enc=vault.encrypt("identity", data.value.strip()) or "",
            verified=False,
            source=data.source,
            created_at=uow.now,
        ),
    )
    uow.record(
        IdentityAdded(
            customer_id=customer_id,
            identity_id=identity.id,
            kind=data.kind.value,
            verified=False,
        )
    )
    return identity


def _other_active_matches(
    uow: UnitOfWork, existing: Sequence[Identity], own_ids: set[int]
) -> list[Identity]:
    roots = repo.roots_of(uow.session, [i.customer_id for i in existing])
    result = []
    for identity in existing:
        if identity.customer_id in own_ids or not takes_part(identity):
            continue
        root = repo.get_customer(uow.session, roots[identity.customer_id])
        if root is not None and root.status == CustomerStatus.ACTIVE.value:
            result.append(identity)
    return result


def require_identity(uow: UnitOfWork, customer_id: int, identity_id: int) -> Identity:
    ids = set(cluster(uow, customer_id))
    identity = repo.get_identity(uow.session, identity_id)
    if identity is None or identity.customer_id not in ids:
        raise UnknownIdentity(
            f"customer {customer_id} has no identity {identity_id}", field="identity_id"
        )
    return identity


def _queue_review(
    uow: UnitOfWork, one: int, other: int, rule: str, *, explanation: str | None = None
) -> int | None:
    a, b = sorted((one, other))
    review = repo.add_review_if_new(
        uow.session,
        MergeReview(
            customer_a=a,
            customer_b=b,
            rule=rule,
            explanation=explanation or f"{rule} on customers {a} and {b}; claimed data only",
            status="open",
            created_at=uow.now,
        ),
    )
    if review is None:  # decided before: a rejected pair is not asked again
        return None
    uow.record(MergeReviewQueued(customer_id=a, other_id=b, rule=rule, review_id=review.id))
    return review.id


# --- look-ups for sign-in and password reset (auth) ----------------------------------------


def email_index(email: str, *, vault: PiiVault) -> str:
    """The email's blind index (``verified_email_owners_of_index``): a keyed digest that
    finds its identities but gives the address back to no one."""
    return vault.blind_index(IdentityKind.EMAIL.value, email.strip())


def verified_email_owners(
    uow: UnitOfWork, email: str, *, vault: PiiVault
) -> list[tuple[int, list[int]]]:
    """``(identity id, cluster ids)`` for each verified identity with this email whose
    surviving profile is active, in identity order; one blind-index look-up."""
    return verified_email_owners_of_index(uow, email_index(email, vault=vault))


def verified_email_owners_of_index(uow: UnitOfWork, index: str) -> list[tuple[int, list[int]]]:
    """``verified_email_owners`` for an email's blind index (``email_index``)."""
    found = repo.find_identities(uow.session, IdentityKind.EMAIL.value, "", index)
    owners = []
    for identity in sorted(found, key=lambda i: i.id):
        if not identity.verified:
            continue
        root_id = repo.root_of(uow.session, identity.customer_id)
        customer = repo.get_customer(uow.session, root_id) if root_id else None
        if customer is None or customer.status != CustomerStatus.ACTIVE.value:
            continue
        owners.append((identity.id, [r.id for r in repo.cluster_of(uow.session, customer.id)]))
    return owners


def identity_value(uow: UnitOfWork, identity_id: int, *, vault: PiiVault) -> str | None:
    """The identifier in clear (an email address, a phone number); None when it is gone."""
    identity = repo.get_identity(uow.session, identity_id)
    if identity is None:
        return None
    return vault.decrypt("identity", identity.value_enc) or ""
