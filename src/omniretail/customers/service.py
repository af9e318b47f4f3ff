"""Customer use cases: profiles, identities and their resolution, consents, contact gates.

Every use case takes the id it was given and resolves it to the surviving profile (a merged
profile's id stays valid as an alias). Services never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row

from omniretail.customers import repository as repo
from omniretail.customers.crypto import PiiVault
from omniretail.customers.errors import (
    ConsentRequired,
    CustomerErased,
    InvalidCustomerData,
    UnknownCustomer,
    UnknownIdentity,
)
from omniretail.customers.events import (
    ConsentChanged,
    IdentityAdded,
    IdentityUnverified,
    IdentityVerified,
    MergeReviewQueued,
    Registered,
    Updated,
)
from omniretail.customers.models import (
    ConsentChannel,
    Customer,
    CustomerStatus,
    Identity,
    IdentityKind,
    MergeReview,
)
from omniretail.customers.schemas import (
    Address,
    ConsentHistoryRead,
    ConsentRead,
    ConsentsRead,
    ConsentWrite,
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
    CustomerWithResolution,
    IdentityCreate,
    IdentityRead,
    Resolution,
)
from omniretail.db.uow import UnitOfWork

# --- resolving ids -------------------------------------------------------------------------


def resolve_id(uow: UnitOfWork, customer_id: int) -> int:
    """The surviving profile's id for any id, alias or not (raises if unknown or erased)."""
    return require_root(uow, customer_id).id


def cluster(uow: UnitOfWork, customer_id: int) -> list[int]:
    """Every id that belongs to this person now, the surviving profile first (one
    statement). Other domains aggregate their rows over these ids (orders keep the customer
    id they were placed with)."""
    rows = repo.cluster_of(uow.session, customer_id)
    root = root_row(rows, customer_id)
    return [root.id, *(r.id for r in rows if r.id != root.id)]


def root_row(rows: Sequence[Any], customer_id: int) -> Any:
    """The surviving profile among a cluster's rows; raises if unknown or erased."""
    root = next((r for r in rows if r.merged_into_id is None), None)
    if root is None:
        raise UnknownCustomer(f"no customer with id {customer_id}", field="customer_id")
    if root.status == CustomerStatus.ERASED.value:
        raise CustomerErased(f"customer {customer_id} was erased", field="customer_id")
    return root


def require_root(uow: UnitOfWork, customer_id: int) -> Customer:
    customer = repo.root_customer(uow.session, customer_id)
    if customer is None:
        raise UnknownCustomer(f"no customer with id {customer_id}", field="customer_id")
    if customer.status == CustomerStatus.ERASED.value:
        raise CustomerErased(f"customer {customer_id} was erased", field="customer_id")
    return customer


def customer_exists(uow: UnitOfWork, customer_id: int) -> bool:
    return repo.root_of(uow.session, customer_id) is not None


# --- profiles ------------------------------------------------------------------------------


def create_customer(
    uow: UnitOfWork, data: CustomerCreate, *, vault: PiiVault, actor: str
) -> CustomerWithResolution:
    customer = Customer(created_at=uow.now, status=CustomerStatus.ACTIVE.value, country=None)
    _apply_profile(customer, data, vault)
    customer.country = data.country or (data.address.country if data.address else None)
    repo.add_customer(uow.session, customer)
    uow.record(Registered(customer_id=customer.id, actor=actor))
    resolutions = [_review_name_postcode(uow, customer)]
    for identity in data.identities:
        resolutions.append(add_identity(uow, customer.id, identity, vault=vault, actor=actor))
    survivor = resolve_id(uow, customer.id)
    return CustomerWithResolution(
        customer=get_customer(uow, survivor, vault=vault),
        resolutions=[r for r in resolutions if r is not None],
    )


def update_customer(
    uow: UnitOfWork, customer_id: int, data: CustomerUpdate, *, vault: PiiVault, actor: str
) -> CustomerRead:
    customer = require_root(uow, customer_id)
    _apply_profile(customer, data, vault)
    customer.updated_at = uow.now
    uow.session.flush()
    _review_name_postcode(uow, customer)
    uow.record(Updated(customer_id=customer.id, actor=actor))
    return get_customer(uow, customer.id, vault=vault)


def get_customer(uow: UnitOfWork, customer_id: int, *, vault: PiiVault) -> CustomerRead:
    """The surviving profile and its aliases, read in one statement."""
    uow.session.flush()
    rows = repo.cluster_of(uow.session, customer_id, profile=True)
    root = root_row(rows, customer_id)
    return customer_read(
        root,
        vault,
        [r.id for r in rows if r.id != root.id],
        resolved_from=customer_id if customer_id != root.id else None,
    )


def find_customer(uow: UnitOfWork, kind: IdentityKind, value: str, *, vault: PiiVault) -> int:
    """Look-up by email, phone, card... through the blind index; verified owners first."""
    matches = repo.find_identities(
        uow.session, kind.value, "", vault.blind_index(kind.value, value)
    )
    matches.sort(key=lambda i: (not i.verified, i.id))
    for identity in matches:
        root = repo.root_of(uow.session, identity.customer_id)
        customer = repo.get_customer(uow.session, root) if root else None
        if customer is not None and customer.status == CustomerStatus.ACTIVE.value:
            return customer.id
    raise UnknownCustomer(f"no customer with this {kind.value}", field="value")


def customer_read(
    customer: Customer | Row[Any],
    vault: PiiVault,
    aliases: list[int],
    *,
    resolved_from: int | None = None,
) -> CustomerRead:
    address = vault.decrypt("address", customer.address_enc)
    birth = vault.decrypt("birth_date", customer.birth_date_enc)
    return CustomerRead(
        id=customer.id,
        status=customer.status,
        customer_number=customer.customer_number,
        name=vault.decrypt("name", customer.name_enc),
        address=Address.model_validate_json(address) if address else None,
        birth_date=date.fromisoformat(birth) if birth else None,
        home_store=customer.home_store,
        country=customer.country,
        created_at=customer.created_at,
        aliases=aliases,
        resolved_from=resolved_from,
    )


def _apply_profile(
    customer: Customer, data: CustomerCreate | CustomerUpdate, vault: PiiVault
) -> None:
    fields = data.model_fields_set
    if "name" in fields or isinstance(data, CustomerCreate):
        customer.name_enc = vault.encrypt("name", data.name)
    if "address" in fields or isinstance(data, CustomerCreate):
        customer.address_enc = vault.encrypt(
            "address", data.address.model_dump_json() if data.address else None
        )
    if "birth_date" in fields or isinstance(data, CustomerCreate):
        birth = data.birth_date
        customer.birth_date_enc = vault.encrypt("birth_date", birth.isoformat() if birth else None)
        customer.birthday = f"{birth:%m-%d}" if birth else None
    if "home_store" in fields or isinstance(data, CustomerCreate):
        customer.home_store = data.home_store.strip().upper() if data.home_store else None
    if data.name and data.address:
        customer.name_postcode_index = vault.blind_index(
            "name_postcode", f"{data.name}|{data.address.postcode.replace(' ', '')}"
        )


def _review_name_postcode(uow: UnitOfWork, customer: Customer) -> Resolution | None:
    """The same name and postcode is a claim, never proof: a person reviews it."""
    if customer.name_postcode_index is None:
        return None
    ids = repo.cluster_ids(uow.session, customer.id)
    others = repo.find_by_name_postcode(uow.session, customer.name_postcode_index, ids)
    if not others:
        return None
    reviews = [_queue_review(uow, customer.id, other, "same name and postcode") for other in others]
    return Resolution(
        outcome="queued",
        rule="same name and postcode",
        explanation="another profile has the same name and postcode; claimed data only, so a"
        " person decides",
        customer_id=customer.id,
        matched_customer_ids=others,
        review_ids=[r for r in reviews if r is not None],
    )


# --- identities and their resolution -------------------------------------------------------


def add_identity(
    uow: UnitOfWork, customer_id: int, data: IdentityCreate, *, vault: PiiVault, actor: str
) -> Resolution:
    """Adds an identifier as claimed, and resolves it deterministically:

    - found on another profile (claimed or verified there) -> a review is queued, never a
      merge: a claim proves nothing, however the other side was verified;
    - otherwise the identifier is simply added (or kept, if the profile holds it already).

    It becomes verified only through ``confirm_identity`` (a one-time code, or a system's
    attestation), which alone may merge.
    """
    root = require_root(uow, customer_id)
    kind, scope = data.kind.value, data.scope.strip().upper() if data.scope else ""
    index = vault.blind_index(kind, data.value)
    own_ids = set(repo.cluster_ids(uow.session, root.id))
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
    if proven:
        from omniretail.customers import merges

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
        if identity.customer_id in own_ids:
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


def _queue_review(uow: UnitOfWork, one: int, other: int, rule: str) -> int | None:
    a, b = sorted((one, other))
    review = repo.add_review_if_new(
        uow.session,
        MergeReview(
            customer_a=a,
            customer_b=b,
            rule=rule,
            explanation=f"{rule} on customers {a} and {b}; claimed data only",
            status="open",
            created_at=uow.now,
        ),
    )
    if review is None:  # decided before: a rejected pair is not asked again
        return None
    uow.record(MergeReviewQueued(customer_id=a, other_id=b, rule=rule, review_id=review.id))
    return review.id


# --- consents ------------------------------------------------------------------------------


def set_consent(
    uow: UnitOfWork, customer_id: int, data: ConsentWrite, *, actor: str
) -> ConsentsRead:
    """Records an answer (kept in the history with where and how) on the surviving profile."""
    root = require_root(uow, customer_id)
    if data.purpose.value == "marketing" and data.channel == ConsentChannel.ALL:
        raise InvalidCustomerData(
            "marketing consent is given per channel (email, sms, push)", field="channel"
        )
    repo.record_consent(
        uow.session,
        customer_id=root.id,
        purpose=data.purpose.value,
        channel=data.channel.value,
        granted=data.granted,
        now=uow.now,
        source=data.source,
        method=data.method,
        actor=actor,
    )
    uow.record(
        ConsentChanged(
            customer_id=root.id,
            purpose=data.purpose.value,
            channel=data.channel.value,
            granted=data.granted,
        )
    )
    return ConsentsRead(customer_id=root.id, consents=list_consents(uow, root.id))


def list_consents(uow: UnitOfWork, customer_id: int) -> list[ConsentRead]:
    """The surviving profile's current answers (one statement, the profile check included)."""
    rows = repo.consents_of_root(uow.session, customer_id)
    if not rows:
        raise UnknownCustomer(f"no customer with id {customer_id}", field="customer_id")
    if rows[0].status == CustomerStatus.ERASED.value:
        raise CustomerErased(f"customer {customer_id} was erased", field="customer_id")
    return [consent_read(c) for c in rows if c.purpose is not None]


def consent_read(c: Any) -> ConsentRead:
    return ConsentRead(
        purpose=c.purpose, channel=c.channel, granted=c.granted, updated_at=c.updated_at
    )


def consent_history(uow: UnitOfWork, customer_id: int) -> list[ConsentHistoryRead]:
    ids = cluster(uow, customer_id)
    return [
        ConsentHistoryRead(
            id=e.id,
            customer_id=e.customer_id,
            purpose=e.purpose,
            channel=e.channel,
            granted=e.granted,
            occurred_at=e.occurred_at,
            source=e.source,
            method=e.method,
            actor=e.actor,
            merge_id=e.merge_id,
        )
        for e in repo.consent_history(uow.session, ids)
    ]


def has_consent(uow: UnitOfWork, customer_id: int, purpose: str, channel: str) -> bool:
    """The gate: no recorded grant means no consent."""
    root_id = repo.root_of(uow.session, customer_id)
    if root_id is None:
        return False
    channels = [channel, ConsentChannel.ALL.value] if purpose != "marketing" else [channel]
    return bool(repo.granted_among(uow.session, [root_id], purpose, channels))


def consenting(
    uow: UnitOfWork, customer_ids: Sequence[int], purpose: str, channel: str
) -> set[int]:
    """Of these ids, those whose surviving profile has granted ``purpose`` on ``channel``."""
    roots = repo.roots_of(uow.session, customer_ids)
    channels = [channel, ConsentChannel.ALL.value] if purpose != "marketing" else [channel]
    granted = repo.granted_among(uow.session, sorted(set(roots.values())), purpose, channels)
    return {cid for cid, root in roots.items() if root in granted}


def contact_address(
    uow: UnitOfWork, customer_id: int, channel: str, *, purpose: str, vault: PiiVault
) -> str:
    """The only way to an email address or phone number for sending: marketing needs the
    customer's consent for that channel; service messages (``purpose="service"``) do not."""
    root = require_root(uow, customer_id)
    if purpose != "service" and not has_consent(uow, root.id, purpose, channel):
        raise ConsentRequired(
            f"customer {customer_id} has not consented to {purpose} by {channel}", field="channel"
        )
    kind = {"email": "email", "sms": "phone", "push": "device"}.get(channel)
    identities = [
        i
        for i in repo.list_identities(uow.session, repo.cluster_ids(uow.session, root.id))
        if i.kind == kind
    ]
    identities.sort(key=lambda i: (not i.verified, -i.id))
    if not identities:
        raise ConsentRequired(f"customer {customer_id} has no {channel} address", field="channel")
    value = vault.decrypt("identity", identities[0].value_enc)
    assert value is not None
    return value


def birthdays(
    uow: UnitOfWork, month_day: str, store_codes: Sequence[str] | None
) -> list[tuple[int, str | None]]:
    """Active customers born on ``month_day`` ("MM-DD") whose home store is one of
    ``store_codes`` (None: customers without a home store)."""
    return repo.by_birthday(uow.session, month_day, store_codes)
