"""HTTP routes for products, SKUs, channels and locations. The reads of one product or SKU
(``GET /products/{code}``, ``GET /skus/{code}``) are served at the edge
(``processes/products.py``), which adds the stock and demand figures of higher domains."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from omniretail.api.deps import ReplicaReadDep, UseCaseDep
from omniretail.api.params import KeyPath
from omniretail.catalog import service
from omniretail.catalog.models import LocationKind
from omniretail.catalog.schemas import (
    ChannelRead,
    ChannelWrite,
    LocationRead,
    LocationWrite,
    ProductCreate,
    ProductRead,
    SkuRead,
)
from omniretail.kernel.limits import MAX_AMOUNT

# The code in the path becomes the saved record's code, so it has the bounds of ``Code``.
CodePath = Annotated[str, Path(min_length=1, max_length=40)]

router = APIRouter(tags=["catalog"])


@router.post("/products", status_code=201, response_model=ProductRead)
def create_product(body: ProductCreate, use_case: UseCaseDep) -> ProductRead:
    return use_case.run(lambda uow: service.create_product(uow, body), status_code=201)


@router.get("/skus", response_model=list[SkuRead])
def list_skus(
    uow: ReplicaReadDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_AMOUNT)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SkuRead]:
    return service.list_skus(uow, offset=offset, limit=limit, query=q)


@router.put("/channels/{code}", response_model=ChannelRead)
def save_channel(code: CodePath, body: ChannelWrite, use_case: UseCaseDep) -> ChannelRead:
    body = body.model_copy(update={"code": code.strip().upper()})
    return use_case.run(lambda uow: service.save_channel(uow, body))


@router.get("/channels", response_model=list[ChannelRead])
def list_channels(uow: ReplicaReadDep) -> list[ChannelRead]:
    return service.list_channels(uow)


@router.get("/channels/{code}", response_model=ChannelRead)
def get_channel(code: KeyPath, uow: ReplicaReadDep) -> ChannelRead:
    return service.get_channel(uow, code.strip().upper())


@router.put("/locations/{code}", response_model=LocationRead)
def save_location(code: CodePath, body: LocationWrite, use_case: UseCaseDep) -> LocationRead:
    body = body.model_copy(update={"code": code.strip().upper()})
    return use_case.run(lambda uow: service.save_location(uow, body))


@router.get("/locations", response_model=list[LocationRead])
def list_locations(uow: ReplicaReadDep, kind: LocationKind | None = None) -> list[LocationRead]:
    return service.list_locations(uow, kind.value if kind else None)


@router.get("/locations/{code}", response_model=LocationRead)
def get_location(code: KeyPath, uow: ReplicaReadDep) -> LocationRead:
    return service.get_location(uow, code.strip().upper())
