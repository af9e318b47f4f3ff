"""HTTP routes of dynamic pricing (``/dynamic-pricing``): rules, runs, the preview (a dry run)
and the change log with its explanations; a change can be reverted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from omniretail.api.deps import ActorDep, ReadDep, UseCaseDep, no_content
from omniretail.api.params import IdPath
from omniretail.catalog.schemas import Code
from omniretail.intelligence import dynamic_pricing as service
from omniretail.intelligence.dynamic_pricing_schemas import (
    DynamicChangeRead,
    DynamicRuleRead,
    DynamicRuleWrite,
    DynamicRunRead,
    DynamicRunRequest,
)
from omniretail.jobs import api as jobs
from omniretail.jobs import service as jobs_service
from omniretail.jobs.schemas import JobRead

router = APIRouter(prefix="/dynamic-pricing", tags=["dynamic pricing"])
RulePath = Annotated[
    str, Path(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
RunId = Annotated[str | None, Query(max_length=36)]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/rules", response_model=list[DynamicRuleRead])
def list_rules(uow: ReadDep, channel: Code | None = None) -> list[DynamicRuleRead]:
    return service.list_rules(uow, channel)


@router.get("/rules/{code}", response_model=DynamicRuleRead)
def get_rule(code: RulePath, uow: ReadDep) -> DynamicRuleRead:
    return service.get_rule(uow, code.upper())


@router.put("/rules/{code}", response_model=DynamicRuleRead)
def save_rule(
    code: RulePath, body: DynamicRuleWrite, use_case: UseCaseDep, actor: ActorDep
) -> DynamicRuleRead:
    """Creates or changes a rule (``condition`` in CEL over the facts: see the guide)."""
    return use_case.run(lambda uow: service.save_rule(uow, code.upper(), body))


@router.post("/rules/{code}/pause", response_model=DynamicRuleRead)
def pause_rule(code: RulePath, use_case: UseCaseDep, actor: ActorDep) -> DynamicRuleRead:
    return use_case.run(lambda uow: service.set_rule_active(uow, code.upper(), False))


@router.post("/rules/{code}/resume", response_model=DynamicRuleRead)
def resume_rule(code: RulePath, use_case: UseCaseDep, actor: ActorDep) -> DynamicRuleRead:
    return use_case.run(lambda uow: service.set_rule_active(uow, code.upper(), True))


@router.delete("/rules/{code}", status_code=204)
def delete_rule(code: RulePath, use_case: UseCaseDep, actor: ActorDep) -> Response:
    use_case.run(
        no_content(lambda uow: service.delete_rule(uow, code.upper())),
        status_code=204,
        remember=False,
    )
    return Response(status_code=204)


@router.post("/preview", response_model=DynamicRunRead)
def preview(body: DynamicRunRequest, uow: ReadDep, actor: ActorDep) -> DynamicRunRead:
    """What a run would change now, and why, for every SKU the rules see. Nothing is stored."""
    return service.run(uow, actor=actor, dry_run=True, channel=body.channel)


@router.post("/runs", response_model=DynamicRunRead)
def run_now(body: DynamicRunRequest, use_case: UseCaseDep, actor: ActorDep) -> DynamicRunRead:
    """Runs the rules now (``dry_run``: only propose). A SKU's price changes at most once a
    day on a channel, however many runs there are."""
    return use_case.run(
        lambda uow: service.run(uow, actor=actor, dry_run=body.dry_run, channel=body.channel)
    )


@router.post("/runs/job", status_code=202, response_model=JobRead)
def queue_run(use_case: UseCaseDep, actor: ActorDep, response: Response) -> JobRead:
    """Queues the run as a durable job (``pricing.dynamic``; the daily schedule queues the
    same); 202 with the job to poll (``Location``), 409 while one is queued or running."""
    return jobs.queue(
        use_case, response, lambda uow: jobs_service.enqueue(uow, service.JOB_KIND, actor=actor)
    )


@router.get("/runs", response_model=list[DynamicRunRead])
def list_runs(uow: ReadDep, limit: Limit = 50) -> list[DynamicRunRead]:
    return service.list_runs(uow, limit)


@router.get("/changes", response_model=list[DynamicChangeRead])
def list_changes(
    uow: ReadDep,
    channel: Code | None = None,
    sku: Code | None = None,
    run: RunId = None,
    limit: Limit = 100,
) -> list[DynamicChangeRead]:
    """The change log, newest first: old and new price, the rule, the facts and why."""
    return service.list_changes(uow, channel=channel, sku=sku, run_id=run, limit=limit)


@router.get("/changes/{change_id}", response_model=DynamicChangeRead)
def get_change(change_id: IdPath, uow: ReadDep) -> DynamicChangeRead:
    return service.get_change(uow, change_id)


@router.post("/changes/{change_id}/revert", response_model=DynamicChangeRead)
def revert_change(change_id: IdPath, use_case: UseCaseDep, actor: ActorDep) -> DynamicChangeRead:
    """Puts the price back as it was before this change (only a SKU's latest change, once)."""
    return use_case.run(lambda uow: service.revert_change(uow, change_id, actor=actor))
