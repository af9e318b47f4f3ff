"""HTTP routes for the loyalty programme, accounts, redemption, rewards and coupons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from omniretail.api.deps import ActorDep, ReadDep, UseCaseDep
from omniretail.api.params import IdPath, KeyPath
from omniretail.kernel.limits import MAX_INT64
from omniretail.loyalty import rewards, service
from omniretail.loyalty.schemas import (
    AccountRead,
    ActionCreate,
    AdjustmentCreate,
    CouponRead,
    CouponRedeem,
    EntryRead,
    LotRead,
    ProgrammeRead,
    ProgrammeRules,
    RecomputeReport,
    RedemptionCreate,
    RedemptionRead,
    RunReport,
)

router = APIRouter(prefix="/loyalty", tags=["loyalty"])


@router.get("/programme", response_model=ProgrammeRead)
def get_programme(uow: ReadDep) -> ProgrammeRead:
    return service.get_programme(uow)


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


@router.post("/customers/{customer_id}/redemptions", status_code=201, response_model=RedemptionRead)
def redeem(
    customer_id: IdPath, body: RedemptionCreate, use_case: UseCaseDep, actor: ActorDep
) -> RedemptionRead:
    """Spend points at checkout in any channel (never the same points twice)."""
    return use_case.run(
        lambda uow: service.redeem_points(uow, customer_id, body, actor=actor), status_code=201
    )


@router.post("/redemptions/{redemption_id}/reverse", response_model=RedemptionRead)
def reverse(redemption_id: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> RedemptionRead:
    return use_case.run(lambda uow: service.reverse_redemption(uow, redemption_id, actor=actor))


@router.post("/customers/{customer_id}/actions", response_model=AccountRead)
def award_action(
    customer_id: IdPath, body: ActionCreate, use_case: UseCaseDep, actor: ActorDep
) -> AccountRead:
    """Points for a review, an app install, a referral (once each)."""
    return use_case.run(lambda uow: service.award_action(uow, customer_id, body, actor=actor))


@router.post("/customers/{customer_id}/adjustments", response_model=AccountRead)
def adjust(
    customer_id: IdPath, body: AdjustmentCreate, use_case: UseCaseDep, actor: ActorDep
) -> AccountRead:
    return use_case.run(lambda uow: service.adjust_points(uow, customer_id, body, actor=actor))


@router.get("/customers/{customer_id}/coupons", response_model=list[CouponRead])
def coupons(customer_id: IdPath, uow: ReadDep) -> list[CouponRead]:
    return service.list_coupons(uow, customer_id)


@router.post("/coupons/{code}/redeem", response_model=CouponRead)
def redeem_coupon(
    code: KeyPath, body: CouponRedeem, use_case: UseCaseDep, actor: ActorDep
) -> CouponRead:
    """Redeem a coupon in any channel, once."""
    return use_case.run(lambda uow: service.redeem_coupon(uow, code, body, actor=actor))


@router.post("/jobs/release", response_model=RunReport)
def release(use_case: UseCaseDep, actor: ActorDep) -> RunReport:
    """Pending points whose return window has closed become available."""
    return use_case.run(
        lambda uow: RunReport(processed=service.release_matured_points(uow, actor=actor))
    )


@router.post("/jobs/expire", response_model=RunReport)
def expire(use_case: UseCaseDep, actor: ActorDep) -> RunReport:
    return use_case.run(lambda uow: RunReport(processed=service.expire_points(uow, actor=actor)))


@router.post("/jobs/birthdays", response_model=RunReport)
def birthdays(use_case: UseCaseDep, actor: ActorDep) -> RunReport:
    return use_case.run(
        lambda uow: RunReport(processed=rewards.award_birthday_coupons(uow, actor=actor))
    )


@router.get("/recompute", response_model=RecomputeReport)
def verify(uow: ReadDep) -> RecomputeReport:
    """Every account's counters checked against its ledger (read-only)."""
    return rewards.recompute_balances(uow, fix=False)
