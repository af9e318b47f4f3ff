"""HTTP routes for customer profiles, identities, consents, the timeline, events and merges.

Routes whose responses carry personal data run with ``remember=False``: their responses are
never written to the idempotency table (sealed, but an erasure could not find them there)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from omniretail.api.deps import (
    ActorDep,
    ContainerDep,
    JsonBody,
    ReadDep,
    ReplicaReadDep,
    SignedInCustomerDep,
    UseCaseDep,
)
from omniretail.api.params import IdPath
from omniretail.customers import service
from omniretail.customers.models import IdentityKind
from omniretail.customers.schemas import (
    ActivityRead,
    Attestation,
    CodeEntry,
    ConsentHistoryRead,
    ConsentRead,
    ConsentsRead,
    ConsentWrite,
    ContactCreate,
    CustomerCreate,
    CustomerMatch,
    CustomerRead,
    CustomerSearch,
    CustomerUpdate,
    CustomerWithResolution,
    EventBatch,
    IdentifySession,
    IdentityClaim,
    IdentityCreate,
    IdentityRead,
    IngestResult,
    MarketingMessage,
    MergeCreate,
    MergeRead,
    MessageResult,
    PrivacyLogRead,
    Resolution,
    ReviewDecision,
    ReviewRead,
    StitchResult,
    VerificationSent,
)
from omniretail.customers.service import activity, claims, merges, verification
from omniretail.customers.service.privacy import privacy_log
from omniretail.customers.service.verification import CodeHasher, CodePolicy, hasher_for
from omniretail.kernel.limits import Timestamp
from omniretail.kernel.vault import PiiVault, vault_for


async def get_vault(container: ContainerDep) -> PiiVault:
    return vault_for(container.keyring)


VaultDep = Annotated[PiiVault, Depends(get_vault)]


async def get_hasher(container: ContainerDep) -> CodeHasher:
    return hasher_for(container.keyring)


async def get_code_policy(container: ContainerDep) -> CodePolicy:
    return verification.code_policy_of(container.settings)


HasherDep = Annotated[CodeHasher, Depends(get_hasher)]
CodePolicyDep = Annotated[CodePolicy, Depends(get_code_policy)]

router = APIRouter(prefix="/customers", tags=["customers"])
events_router = APIRouter(tags=["customers"])


class Lookup(BaseModel):
    """A look-up by identifier goes in the body, so personal data never lands in URL logs."""

    kind: IdentityKind
    value: str = Field(min_length=1, max_length=200)


EVENT_BATCH = JsonBody(EventBatch)


@events_router.post(
    "/events", status_code=202, response_model=IngestResult, openapi_extra=EVENT_BATCH.openapi
)
def ingest_events(
    body: Annotated[EventBatch, Depends(EVENT_BATCH)], use_case: UseCaseDep, actor: ActorDep
) -> IngestResult:
    """Behavioural events in batches of up to 1,000 (page and product views, add to cart,
    store visits, app installs). Unknown visitors are held by ``anonymous_id``."""
    return use_case.run(lambda uow: activity.ingest_events(uow, body, actor=actor), status_code=202)


# --- static paths first (they would otherwise match /customers/{customer_id}) --------------


@router.post("", status_code=201, response_model=CustomerWithResolution)
def create_customer(
    body: CustomerCreate, use_case: UseCaseDep, actor: ActorDep, vault: VaultDep
) -> CustomerWithResolution:
    """A new profile; each identity given is added as claimed and resolved (a match on another
    profile queues a review; nothing merges on a claim)."""
    return use_case.run(
        lambda uow: service.create_customer(uow, body, vault=vault, actor=actor),
        status_code=201,
        remember=False,
    )


@router.post("/lookup", response_model=CustomerRead)
def lookup_customer(body: Lookup, uow: ReadDep, vault: VaultDep) -> CustomerRead:
    """Find a profile by email, phone, card number... (through the blind index)."""
    customer_id = service.find_customer(uow, body.kind, body.value, vault=vault)
    return service.get_customer(uow, customer_id, vault=vault)


@router.post("/search", response_model=list[CustomerMatch])
def search_customers(body: CustomerSearch, uow: ReadDep, vault: VaultDep) -> list[CustomerMatch]:
    """Find profiles by name (every word; matched on the surname) or by postcode (a district
    such as "SW1A" finds all of it), through keyed search indexes. A POST, so that the name
    never lands in a URL or an access log."""
    return service.search_customers(uow, body.by, body.value, vault=vault)


@router.post("/merges", status_code=201, response_model=MergeRead)
def merge_customers(body: MergeCreate, use_case: UseCaseDep, actor: ActorDep) -> MergeRead:
    """A person merges two profiles (who, when and why are recorded)."""
    return use_case.run(
        lambda uow: merges.merge_customers(
            uow, body.survivor_id, body.merged_id, rule="manual", reason=body.reason, actor=actor
        ),
        status_code=201,
    )


@router.get("/merges/{merge_id}", response_model=MergeRead)
def get_merge(merge_id: IdPath, uow: ReadDep) -> MergeRead:
    return merges.get_merge(uow, merge_id)


@router.get("/reviews", response_model=list[ReviewRead])
def list_reviews(
    uow: ReadDep,
    status: Literal["open", "merged", "rejected"] | None = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ReviewRead]:
    """The review queue: matches on claimed data only."""
    return merges.list_reviews(uow, status=status, limit=limit)


@router.post("/reviews/{review_id}/decision", response_model=ReviewRead)
def decide_review(
    review_id: IdPath, body: ReviewDecision, use_case: UseCaseDep, actor: ActorDep
) -> ReviewRead:
    return use_case.run(
        lambda uow: merges.decide_review(
            uow, review_id, body.decision, reason=body.reason, actor=actor
        )
    )


# --- one customer --------------------------------------------------------------------------


@router.get("/{customer_id}", response_model=CustomerRead)
def get_customer(customer_id: IdPath, uow: ReadDep, vault: VaultDep) -> CustomerRead:
    """The profile; a merged profile's id answers with the survivor (``resolved_from``)."""
    return service.get_customer(uow, customer_id, vault=vault)


@router.patch("/{customer_id}", response_model=CustomerRead)
def update_customer(
    customer_id: IdPath,
    body: CustomerUpdate,
    use_case: UseCaseDep,
    actor: ActorDep,
    vault: VaultDep,
) -> CustomerRead:
    return use_case.run(
        lambda uow: service.update_customer(uow, customer_id, body, vault=vault, actor=actor),
        remember=False,
    )


@router.get("/{customer_id}/identities", response_model=list[IdentityRead])
def list_identities(customer_id: IdPath, uow: ReadDep, vault: VaultDep) -> list[IdentityRead]:
    return service.list_identities(uow, customer_id, vault=vault)


@router.post(
    "/{customer_id}/identities",
    status_code=201,
    response_model=Resolution | IdentityClaim,
    responses={429: {"description": "a customer's claims of the day, or its codes, used up"}},
)
def add_identity(
    customer_id: IdPath,
    body: IdentityCreate,
    use_case: UseCaseDep,
    actor: ActorDep,
    vault: VaultDep,
    hasher: HasherDep,
    policy: CodePolicyDep,
    container: ContainerDep,
    signed_in: SignedInCustomerDep,
) -> Resolution | IdentityClaim:
    """Staff and systems: adds an identifier and says what identity resolution decided, and
    why (``Resolution``: the other profiles it matched, the reviews it queued).

    A signed-in customer adds their own email or phone only (403 otherwise): it is stored
    unverified, a code is sent to it, and the answer (``IdentityClaim``) is the same whoever
    else holds it; only once verified with the code does it take part in matching.
    ``identity_claims_per_day`` per profile (429 with Retry-After beyond)."""
    if signed_in is not None:
        per_day = container.settings.identity_claims_per_day
        return use_case.run(
            lambda uow: claims.claim_identity(
                uow,
                customer_id,
                body,
                vault=vault,
                hasher=hasher,
                policy=policy,
                per_day=per_day,
                actor=actor,
            ),
            status_code=201,
            remember=False,
        )
    return use_case.run(
        lambda uow: service.add_identity(uow, customer_id, body, vault=vault, actor=actor),
        status_code=201,
    )


@router.post(
    "/{customer_id}/identities/{identity_id}/verification",
    status_code=202,
    response_model=VerificationSent,
)
def send_verification_code(
    customer_id: IdPath,
    identity_id: IdPath,
    use_case: UseCaseDep,
    actor: ActorDep,
    vault: VaultDep,
    hasher: HasherDep,
    policy: CodePolicyDep,
) -> VerificationSent:
    """Sends a one-time code to the email (SMTP) or phone (SMS); the code is never in the
    response. Limited per identity and per person (429 beyond)."""
    return use_case.run(
        lambda uow: verification.request_code(
            uow, customer_id, identity_id, vault=vault, hasher=hasher, policy=policy, actor=actor
        ),
        status_code=202,
        remember=False,
    )


@router.post(
    "/{customer_id}/identities/{identity_id}/verify", response_model=Resolution | IdentityClaim
)
def verify_identity(
    customer_id: IdPath,
    identity_id: IdPath,
    body: CodeEntry,
    use_case: UseCaseDep,
    actor: ActorDep,
    hasher: HasherDep,
    policy: CodePolicyDep,
    signed_in: SignedInCustomerDep,
) -> Resolution | IdentityClaim:
    """The customer enters the code they received: the identity is verified and resolution
    runs again (a merge only with another profile's platform-verified identity, and never
    for an identifier the customer claimed themselves: staff review that). A wrong code
    counts against the code's attempts (that is written even though the answer is an error).
    A signed-in customer is told about their own identifier only (``IdentityClaim``)."""
    confirm = claims.confirm_claim if signed_in is not None else verification.confirm_code
    check = use_case.run(
        lambda uow: confirm(
            uow, customer_id, identity_id, body.code, hasher=hasher, policy=policy, actor=actor
        ),
        remember=False,
    )
    if check.refused is not None:
        raise check.refused
    answer = check.claim or check.resolution
    assert answer is not None
    return answer


@router.post("/{customer_id}/identities/{identity_id}/attestation", response_model=Resolution)
def attest_identity(
    customer_id: IdPath,
    identity_id: IdPath,
    body: Attestation,
    use_case: UseCaseDep,
    actor: ActorDep,
) -> Resolution:
    """A system principal holding ``identities:verify`` (API key) records that it verified
    the identifier itself (a login, a card scan), with its own reference."""
    return use_case.run(
        lambda uow: service.confirm_identity(
            uow,
            customer_id,
            identity_id,
            via=body.via.value,
            by=actor,
            reference=body.reference,
            actor=actor,
        )
    )


@router.get("/{customer_id}/consents", response_model=list[ConsentRead])
def list_consents(customer_id: IdPath, uow: ReadDep) -> list[ConsentRead]:
    return service.list_consents(uow, customer_id)


@router.post("/{customer_id}/consents", response_model=ConsentsRead)
def set_consent(
    customer_id: IdPath, body: ConsentWrite, use_case: UseCaseDep, actor: ActorDep
) -> ConsentsRead:
    """Give or withdraw consent for a purpose on a channel (kept in the history)."""
    return use_case.run(lambda uow: service.set_consent(uow, customer_id, body, actor=actor))


@router.get("/{customer_id}/consents/history", response_model=list[ConsentHistoryRead])
def consent_history(customer_id: IdPath, uow: ReadDep) -> list[ConsentHistoryRead]:
    return service.consent_history(uow, customer_id)


@router.get("/{customer_id}/timeline", response_model=list[ActivityRead])
def timeline(
    customer_id: IdPath,
    uow: ReplicaReadDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[
        Timestamp | None, Query(description="with a time zone, e.g. 2026-01-01T00:00:00Z")
    ] = None,
) -> list[ActivityRead]:
    """Everything from every channel, newest first; page with ``before``."""
    return activity.timeline(uow, customer_id, limit=limit, before=before)


@router.post("/{customer_id}/identify", response_model=StitchResult)
def identify_session(
    customer_id: IdPath, body: IdentifySession, use_case: UseCaseDep, actor: ActorDep
) -> StitchResult:
    """On login: stitch the anonymous session's events onto the customer."""
    return use_case.run(
        lambda uow: activity.identify_session(uow, customer_id, body.anonymous_id, actor=actor)
    )


@router.post("/{customer_id}/contacts", status_code=201, response_model=ActivityRead)
def record_contact(
    customer_id: IdPath, body: ContactCreate, use_case: UseCaseDep, actor: ActorDep
) -> ActivityRead:
    """A support contact on the timeline."""
    return use_case.run(
        lambda uow: activity.record_contact(uow, customer_id, body, actor=actor), status_code=201
    )


@router.post("/{customer_id}/messages", response_model=MessageResult)
def send_marketing_message(
    customer_id: IdPath, body: MarketingMessage, use_case: UseCaseDep, actor: ActorDep
) -> MessageResult:
    """Queue a marketing message; refused quietly (``sent: false``) without consent."""
    return use_case.run(
        lambda uow: activity.send_marketing_message(uow, customer_id, body, actor=actor)
    )


@router.get("/{customer_id}/privacy-log", response_model=list[PrivacyLogRead])
def get_privacy_log(customer_id: IdPath, uow: ReadDep) -> list[PrivacyLogRead]:
    return privacy_log(uow, service.resolve_id(uow, customer_id))
