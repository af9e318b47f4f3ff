"""HTTP routes for the loyalty programme, accounts, redemption, rewards and coupons."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from omniretail.api.deps import (
    ActorDep,
    ContainerDep,
    HoldsDep,
    PersonDep,
    ReadDep,
    SignedInCustomerDep,
    UseCaseDep,
)
from omniretail.api.params import IdPath, KeyPath
from omniretail.customers import service as customers
from omniretail.customers.schemas import VerificationSent
from omniretail.customers.service import CodeHasher, CodePolicy
from omniretail.jobs import api as jobs
from omniretail.jobs import service as jobs_service
from omniretail.jobs.schemas import JobRead
from omniretail.kernel.limits import MAX_INT64
from omniretail.kernel.vault import vault_for
from omniretail.loyalty import jobs as loyalty_jobs
from omniretail.loyalty import service
from omniretail.loyalty.errors import PresenceNotProven
from omniretail.loyalty.schemas import (
    AccountRead,
    ActionCreate,
    AdjustmentCreate,
    CouponRead,
    CouponRedeem,
    EntryRead,
    LotRead,
    PresenceCodeRequest,
    ProgrammeOverview,
    ProgrammeRead,
    ProgrammeRules,
    RedemptionCreate,
    RedemptionRead,
)
from omniretail.runtime import Runtime

router = APIRouter(prefix="/loyalty", tags=["loyalty"])


@router.get("/programme", response_model=ProgrammeRead)
def get_programme(uow: ReadDep) -> ProgrammeRead:
    return service.get_programme(uow)


@router.get("/overview", response_model=ProgrammeOverview)
def overview(uow: ReadDep) -> ProgrammeOverview:
    """The programme's state: member accounts by tier, points outstanding (the liability, in
    points and money), points expiring in the next 30 days, points earned and redeemed in the
    last 30 days."""
    return service.programme_overview(uow)


@router.put("/programme", response_model=ProgrammeRead)
def save_programme(body: ProgrammeRules, use_case: UseCaseDep, actor: ActorDep) -> ProgrammeRead:
    """A new version of the rules (earn rates, tiers, rewards, campaigns) becomes active."""
    return use_case.run(lambda uow: service.save_programme(uow, body, actor=actor))


@router.post("/customers/{customer_id}/enrol", response_model=AccountRead)
def enrol(customer_id: IdPath, use_case: UseCaseDep, actor: ActorDep) -> AccountRead:
    return use_case.run(lambda uow: service.enrol(uow, customer_id, actor=actor))


@router.get("/customers/{customer_id}", response_model=AccountRead)
def get_account(customer_id: IdPath, uow: ReadDep) -> AccountRead:
    """Balance, pending points, tier and progress ("£38 to Gold"), next expiry."""
    return service.account_status(uow, customer_id)


@router.get("/customers/{customer_id}/ledger", response_model=list[EntryRead])
def ledger(
    customer_id: IdPath,
    uow: ReadDep,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EntryRead]:
    return service.list_entries(uow, customer_id, limit=limit, before_id=before_id)


@router.get("/customers/{customer_id}/lots", response_model=list[LotRead])
def lots(customer_id: IdPath, uow: ReadDep) -> list[LotRead]:
    return service.list_lots(uow, customer_id)


def _codes(container: Runtime) -> tuple[CodeHasher, CodePolicy]:
    return customers.hasher_for(container.keyring), customers.code_policy_of(container.settings)


@router.post(
    "/customers/{customer_id}/presence-codes", status_code=202, response_model=VerificationSent
)
def send_presence_code(
    customer_id: IdPath,
    body: PresenceCodeRequest,
    use_case: UseCaseDep,
    actor: ActorDep,
    container: ContainerDep,
) -> VerificationSent:
    """Sends the customer a one-time code to their verified email (else phone) that proves they
    are here and agree to spend points on this ``reference``; they read it out to staff, who
    send it with the redemption. Short-lived, a few tries, once; a newer one replaces it.
    Limited per person as identity codes are but counted apart from them, and per staff
    principal per hour across all customers (429 with Retry-After beyond; a refusal is counted
    and audited); 409 when no verified email or phone is on file."""
    hasher, policy = _codes(container)
    vault = vault_for(container.keyring)
    return service.send_or_count_refusal(
        lambda fn: use_case.run(fn, status_code=202, remember=False),
        customer_id,
        body.reference,
        body.points,
        vault=vault,
        hasher=hasher,
        policy=policy,
        actor=actor,
    )


@router.post("/customers/{customer_id}/redemptions", status_code=201, response_model=RedemptionRead)
def redeem(
    customer_id: IdPath,
    body: RedemptionCreate,
    use_case: UseCaseDep,
    actor: ActorDep,
    container: ContainerDep,
    signed_in: SignedInCustomerDep,
) -> RedemptionRead:
    """Spend points at checkout in any channel (never the same points twice). Staff need the
    ``presence_code`` the customer was sent for this ``reference`` (403 without it, or with a
    wrong, used or expired one: a wrong one counts against the code's tries); the signed-in
    customer spends their own without one."""
    hasher, policy = _codes(container)
    presence = service.Presence(
        by_customer=signed_in is not None,
        code=body.presence_code,
        bound_to=customers.presence_binding(body.reference, body.points),
    )
    try:
        return use_case.run(
            lambda uow: service.redeem_in_person(
                uow, customer_id, body, presence, hasher=hasher, policy=policy, actor=actor
            ),
            status_code=201,
        )
    except PresenceNotProven:
        with container.uow() as uow:
            service.count_wrong_code(uow, customer_id, presence, hasher=hasher, policy=policy)
        raise


@router.post("/redemptions/{redemption_id}/reverse", response_model=RedemptionRead)
def reverse(redemption_id: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> RedemptionRead:
    return use_case.run(lambda uow: service.reverse_redemption(uow, redemption_id, actor=actor))


@router.post("/customers/{customer_id}/actions", response_model=AccountRead)
def award_action(
    customer_id: IdPath,
    body: ActionCreate,
    use_case: UseCaseDep,
    actor: ActorDep,
    person: PersonDep,
    container: ContainerDep,
) -> AccountRead:
    """Points for a review, an app install, a referral (once each); counted as goodwill of
    the day like an adjustment (409 ``goodwill-limit-reached`` or
    ``customer-goodwill-limit-reached``)."""
    goodwill = service.Goodwill.of(person, container.settings)
    return use_case.run(
        lambda uow: service.award_action(uow, customer_id, body, actor=actor, goodwill=goodwill)
    )


@router.post("/customers/{customer_id}/adjustments", response_model=AccountRead)
def adjust(
    customer_id: IdPath,
    body: AdjustmentCreate,
    use_case: UseCaseDep,
    actor: ActorDep,
    person: PersonDep,
    container: ContainerDep,
) -> AccountRead:
    """Credits count as goodwill of the day, whoever makes them: against the person behind
    the credential (an API key's creator; ``loyalty_goodwill_points_per_day``, 409
    ``goodwill-limit-reached`` beyond) and against the customer from all staff together
    (``loyalty_goodwill_points_per_customer_per_day``, 409
    ``customer-goodwill-limit-reached``); debits do not."""
    goodwill = service.Goodwill.of(person, container.settings)
    return use_case.run(
        lambda uow: service.adjust_points(uow, customer_id, body, actor=actor, goodwill=goodwill)
    )


@router.get("/customers/{customer_id}/coupons", response_model=list[CouponRead])
def coupons(customer_id: IdPath, uow: ReadDep, holds: HoldsDep) -> list[CouponRead]:
    """The customer's loyalty coupons; their codes only to callers holding ``coupons:codes``
    (the customer, service agents, admins), masked for store associates."""
    found = service.list_coupons(uow, customer_id)
    return found if holds("coupons:codes") else service.masked_coupons(found)


@router.post("/coupons/{code}/redeem", response_model=CouponRead)
def redeem_coupon(
    code: KeyPath, body: CouponRedeem, use_case: UseCaseDep, actor: ActorDep
) -> CouponRead:
    """Redeem a coupon in any channel, once."""
    return use_case.run(lambda uow: service.redeem_coupon(uow, code, body, actor=actor))


@router.post("/jobs/{name}", status_code=202, response_model=JobRead)
def start_job(
    name: Literal["release", "expire", "birthdays", "recompute"],
    use_case: UseCaseDep,
    actor: ActorDep,
    response: Response,
) -> JobRead:
    """Queue a programme job, run by a worker (the server's, or ``omniretail jobs worker``):
    ``release`` (pending points whose return window has closed become available),
    ``expire``, ``birthdays`` (coupons), ``recompute`` (every account's counters checked
    against its ledger, read-only). Answers 202 with the job to poll (``Location``); while a
    job of that name is queued or running, 409 naming it."""
    return jobs.queue(
        use_case,
        response,
        lambda uow: jobs_service.enqueue(uow, loyalty_jobs.KINDS[name], actor=actor),
    )
