"""HTTP routes of the cross-domain processes: the customer 360, GDPR export and erasure,
undoing a merge (``customers_router``), and the product and SKU reads (``products_router``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from omniretail.api.deps import ActorDep, ContainerDep, ReplicaReadDep, UseCaseDep
from omniretail.api.params import IdPath, KeyPath
from omniretail.customers.schemas import MergeRead, UndoMerge
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.vault import vault_for
from omniretail.processes import customer360, merges, privacy, products
from omniretail.processes.customer360 import Customer360View
from omniretail.processes.privacy import ErasureReport, PersonalDataExport
from omniretail.processes.products import ProductView, SkuView

customers_router = APIRouter(prefix="/customers", tags=["customers"])
products_router = APIRouter(tags=["catalog"])


@customers_router.get("/{customer_id}/360", response_model=Customer360View)
def customer_360(
    customer_id: IdPath,
    uow: ReplicaReadDep,
    container: ContainerDep,
    k: Annotated[int, Query(ge=1, le=50, description="products to offer")] = customer360.OFFERS,
) -> Customer360View:
    """Profile, identities, consents, loyalty status, lifetime spend by channel, last orders,
    open returns, segment, CLV, p_alive and recommendations, in one call."""
    return customer360.customer_360(uow, customer_id, vault=vault_for(container.keyring), k=k)


@customers_router.get("/{customer_id}/export", response_model=PersonalDataExport)
def export_personal_data(
    customer_id: IdPath, use_case: UseCaseDep, actor: ActorDep, container: ContainerDep
) -> PersonalDataExport:
    """Everything held about the person, as one JSON document (the request is logged)."""
    vault = vault_for(container.keyring)

    def run(uow: UnitOfWork) -> PersonalDataExport:
        return privacy.export_personal_data(uow, customer_id, vault=vault, actor=actor)

    return use_case.run(run, remember=False)


@customers_router.post("/{customer_id}/erase", response_model=ErasureReport)
def erase_customer(
    customer_id: IdPath, use_case: UseCaseDep, actor: ActorDep, request: Request
) -> ErasureReport:
    """Removes or irreversibly anonymises the person's data; order totals and the points
    ledger (amounts only) stay for the accounts. Logged. A customer's own request is held
    (409) while one of their orders is open."""
    principal = getattr(request.state, "principal", None)
    own = principal is not None and principal.role == "customer"
    return use_case.run(
        lambda uow: privacy.erase_customer(uow, customer_id, actor=actor, hold_open_orders=own)
    )


@customers_router.post("/merges/{merge_id}/undo", response_model=MergeRead)
def undo_merge(
    merge_id: IdPath, body: UndoMerge, use_case: UseCaseDep, actor: ActorDep
) -> MergeRead:
    """Undo a merge exactly; points either side spent of the other's while merged go back."""
    return use_case.run(lambda uow: merges.undo_merge_and_settle(uow, merge_id, body, actor=actor))


def _sees_stock(request: Request) -> bool:
    principal = getattr(request.state, "principal", None)
    return products.sees_stock(principal.role if principal is not None else None)


@products_router.get("/products/{code}", response_model=ProductView)
def get_product(code: KeyPath, uow: ReplicaReadDep, request: Request) -> ProductView:
    return products.product_view(uow, code, with_stock=_sees_stock(request))


@products_router.get("/skus/{code}", response_model=SkuView)
def get_sku(code: KeyPath, uow: ReplicaReadDep, request: Request) -> SkuView:
    return products.sku_view(uow, code, with_stock=_sees_stock(request))
