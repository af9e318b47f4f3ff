"""HTTP routes: the routing rules (in force, versions, saving) and simulations."""

from __future__ import annotations

from fastapi import APIRouter

from omniretail.api.deps import ActorDep, ReadDep, UseCaseDep
from omniretail.api.params import Id32Path
from omniretail.routing import service as routing
from omniretail.routing.schemas import DecisionRead, RoutingSimulate, RuleSetRead, RuleSetWrite

router = APIRouter()


@router.get("/routing/rules", response_model=RuleSetRead, tags=["routing"])
def rules_in_force(uow: ReadDep) -> RuleSetRead:
    return routing.get_rules(uow)


@router.get("/routing/rules/versions", response_model=list[RuleSetRead], tags=["routing"])
def rule_versions(uow: ReadDep) -> list[RuleSetRead]:
    return routing.list_rules(uow)


@router.get("/routing/rules/{version}", response_model=RuleSetRead, tags=["routing"])
def rule_version(version: Id32Path, uow: ReadDep) -> RuleSetRead:
    return routing.get_rules(uow, version)


@router.put("/routing/rules", status_code=201, response_model=RuleSetRead, tags=["routing"])
def save_rules(body: RuleSetWrite, use_case: UseCaseDep, actor: ActorDep) -> RuleSetRead:
    """Stores the rules as a new version, in force from now on."""
    return use_case.run(lambda uow: routing.save_rules(uow, body, actor=actor), status_code=201)


@router.post("/routing/simulate", response_model=DecisionRead, tags=["routing"])
def simulate(body: RoutingSimulate, uow: ReadDep) -> DecisionRead:
    """Explain a decision: locations considered, excluded by which rule, why the winner won."""
    return routing.simulate(uow, body)
