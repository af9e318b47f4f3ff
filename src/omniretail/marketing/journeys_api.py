"""HTTP routes for journeys (``/marketing/journeys``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from omniretail.api.deps import ActorDep, ContainerDep, ReadDep, UseCaseDep
from omniretail.kernel.limits import MAX_INT64
from omniretail.marketing import service
from omniretail.marketing.journeys_definition import CODE, JourneyDefinition
from omniretail.marketing.schemas import (
    ClassicRead,
    JourneyCreate,
    JourneyRead,
    JourneyVersionRead,
    RunRead,
)

router = APIRouter(prefix="/marketing/journeys", tags=["marketing"])
classics_router = APIRouter(prefix="/marketing/journey-classics", tags=["marketing"])
CodePath = Annotated[str, Path(pattern=CODE, max_length=60)]


@classics_router.get("", response_model=list[ClassicRead])
def list_classics(uow: ReadDep) -> list[ClassicRead]:
    """The retail classics ready to install, and whether each is installed."""
    installed = {j.code for j in service.list_journeys(uow)}
    return [
        ClassicRead(
            code=c.code, name=c.name, description=c.description, installed=c.code in installed
        )
        for c in service.CLASSICS
    ]


@classics_router.post("/{code}/install", status_code=201, response_model=JourneyRead)
def install_classic(
    code: CodePath, use_case: UseCaseDep, actor: ActorDep, container: ContainerDep
) -> JourneyRead:
    """The classic as a draft journey of the same code, with the messages, segment and coupon
    promotions it needs that are missing (409 when the journey exists); publish to start it.
    Needs marketing:write; the roles holding it (marketer, admin) also write pricing."""
    return use_case.run(
        lambda uow: service.install_classic(
            uow, code, actor=actor, site_url=container.settings.public_base_url
        ),
        status_code=201,
    )


@router.get("", response_model=list[JourneyRead])
def list_journeys(uow: ReadDep) -> list[JourneyRead]:
    return service.list_journeys(uow)


@router.post("", status_code=201, response_model=JourneyRead)
def create_journey(body: JourneyCreate, use_case: UseCaseDep, actor: ActorDep) -> JourneyRead:
    """A draft journey (version 1); nobody enters until it is published."""
    return use_case.run(lambda uow: service.create_journey(uow, body, actor=actor), status_code=201)


@router.get("/{code}", response_model=JourneyRead)
def get_journey(code: CodePath, uow: ReadDep) -> JourneyRead:
    return service.get_journey(uow, code)


@router.put("/{code}/draft", response_model=JourneyRead)
def save_draft(
    code: CodePath, body: JourneyDefinition, use_case: UseCaseDep, actor: ActorDep
) -> JourneyRead:
    """The newest version's definition edited, or a new version when the newest is live or
    has runs; publish to make it live."""
    return use_case.run(lambda uow: service.save_draft(uow, code, body, actor=actor))


@router.post("/{code}/publish", response_model=JourneyRead)
def publish(code: CodePath, use_case: UseCaseDep, actor: ActorDep) -> JourneyRead:
    """The newest version goes live; customers on their way keep theirs."""
    return use_case.run(lambda uow: service.publish(uow, code, actor=actor))


@router.post("/{code}/pause", response_model=JourneyRead)
def pause(code: CodePath, use_case: UseCaseDep) -> JourneyRead:
    return use_case.run(lambda uow: service.pause(uow, code))


@router.post("/{code}/resume", response_model=JourneyRead)
def resume(code: CodePath, use_case: UseCaseDep) -> JourneyRead:
    return use_case.run(lambda uow: service.resume(uow, code))


@router.post("/{code}/archive", response_model=JourneyRead)
def archive(code: CodePath, use_case: UseCaseDep) -> JourneyRead:
    """Ends every active run; the results stay."""
    return use_case.run(lambda uow: service.archive(uow, code))


@router.get("/{code}/versions", response_model=list[JourneyVersionRead])
def versions(code: CodePath, uow: ReadDep) -> list[JourneyVersionRead]:
    return service.versions(uow, code)


@router.get("/{code}/runs", response_model=list[RunRead])
def runs(
    code: CodePath,
    uow: ReadDep,
    state: Literal["active", "completed", "exited"] | None = None,
    customer_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    after: Annotated[int, Query(ge=0, le=MAX_INT64, description="run id to page after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RunRead]:
    """Runs in id order; the next page starts after the last id."""
    return service.runs(uow, code, state=state, customer_id=customer_id, after=after, limit=limit)
