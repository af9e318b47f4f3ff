"""Routes that compose several domains for one customer: the 360 read (with loyalty and the
intelligence scores), the GDPR export and erasure, and undoing a merge (customers and loyalty
in one transaction). They live at the edge because customers sits below loyalty, auth and
intelligence in the import order."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from omniretail.api.deps import ActorDep, ContainerDep, ReadDep, UseCaseDep
from omniretail.api.params import IdPath
from omniretail.auth import service as auth
from omniretail.customers import merges, privacy, profile
from omniretail.customers import service as customers
from omniretail.customers.crypto import vault_for
from omniretail.customers.schemas import Customer360, MergeRead, UndoMerge
from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import service as intelligence
from omniretail.intelligence.schemas import CustomerIntelligence
from omniretail.loyalty import rewards
from omniretail.loyalty import service as loyalty
from omniretail.messaging import notifications
from omniretail.orders import service as order_lookup
from omniretail.orders import service as order_privacy

router = APIRouter(prefix="/customers", tags=["customers"])


class PersonalDataExport(BaseModel):
    customer_id: int
    generated_at: str
    customer: dict[str, Any]
    loyalty: dict[str, Any]
    orders: list[dict[str, Any]] = Field(description="the orders of every profile of the person")


class ErasureReport(BaseModel):
    customer_id: int
    erased_ids: list[int]
    summary: dict[str, Any]


class Customer360View(Customer360):
    intelligence: CustomerIntelligence = Field(
        description="segment, RFM, CLV, p_alive and products to offer, from the last batch"
        " run; the popular list, flagged, for a customer who withdrew consent to"
        " personalisation"
    )


@router.get("/{customer_id}/360", response_model=Customer360View)
def customer_360(
    customer_id: IdPath,
    uow: ReadDep,
    container: ContainerDep,
    k: Annotated[int, Query(ge=1, le=50, description="products to offer")] = 10,
) -> Customer360View:
    """Profile, identities, consents, loyalty status, lifetime spend by channel, last orders,
    open returns, segment, CLV, p_alive and recommendations, in one call."""
    view = profile.customer_360(uow, customer_id, vault=vault_for(container.keyring))
    cluster = [view.customer.id, *view.customer.aliases]
    view.loyalty = loyalty.account_status(uow, view.customer.id, cluster=cluster).model_dump(
        mode="json"
    )
    scores = intelligence.customer_intelligence(
        uow, view.customer.id, k, cluster=cluster, consents=view.consents
    )
    return Customer360View(**dict(view), intelligence=scores)


@router.get("/{customer_id}/export", response_model=PersonalDataExport)
def export_personal_data(
    customer_id: IdPath, use_case: UseCaseDep, actor: ActorDep, container: ContainerDep
) -> PersonalDataExport:
    """Everything held about the person, as one JSON document (the request is logged)."""
    vault = vault_for(container.keyring)

    def run(uow: UnitOfWork) -> PersonalDataExport:
        section = privacy.export_personal_data(uow, customer_id, vault=vault, actor=actor)
        root = section["profile"]["id"]
        return PersonalDataExport(
            customer_id=root,
            generated_at=uow.now.isoformat(),
            customer=section,
            loyalty={
                "account": loyalty.account_status(uow, root).model_dump(mode="json"),
                "ledger": [
                    e.model_dump(mode="json")
                    for e in loyalty.list_entries(uow, root, limit=100_000)
                ],
                "lots": [lot.model_dump(mode="json") for lot in loyalty.list_lots(uow, root)],
                "coupons": [c.model_dump(mode="json") for c in loyalty.list_coupons(uow, root)],
            },
            orders=[
                o.model_dump(mode="json")
                for profile_id in [root, *section["profile"]["aliases"]]
                for o in order_lookup.list_orders(uow, profile_id, limit=100_000)
            ],
        )

    return use_case.run(run, remember=False)


@router.post("/{customer_id}/erase", response_model=ErasureReport)
def erase_customer(customer_id: IdPath, use_case: UseCaseDep, actor: ActorDep) -> ErasureReport:
    """Removes or irreversibly anonymises the person's data; order totals and the points
    ledger (amounts only) stay for the accounts. Logged."""

    def run(uow: UnitOfWork) -> ErasureReport:
        root = customers.resolve_id(uow, customer_id)
        summary = privacy.erase_customer(uow, root, actor=actor)
        summary["principals_deleted"] = auth.forget_customer(uow, summary["ids"])
        summary["intelligence_scores_deleted"] = intelligence.forget_customers(uow, summary["ids"])
        summary.update(order_privacy.forget_customer_orders(uow, summary["ids"]))
        summary["notifications_deleted"] = notifications.forget_recipient(
            uow, [str(i) for i in summary["ids"]]
        )
        return ErasureReport(customer_id=root, erased_ids=summary["ids"], summary=summary)

    return use_case.run(run)


@router.post("/merges/{merge_id}/undo", response_model=MergeRead)
def undo_merge(
    merge_id: IdPath, body: UndoMerge, use_case: UseCaseDep, actor: ActorDep
) -> MergeRead:
    """Undo a merge exactly; points either side spent of the other's while merged go back."""
    return use_case.run(lambda uow: undo_merge_and_settle(uow, merge_id, body, actor=actor))


def undo_merge_and_settle(
    uow: UnitOfWork, merge_id: int, body: UndoMerge, *, actor: str
) -> MergeRead:
    merge = merges.undo_merge(uow, merge_id, reason=body.reason, actor=actor)
    sides = [
        customers.cluster(uow, merge.survivor_id),
        customers.cluster(uow, merge.merged_id),
    ]
    rewards.settle_unmerge(
        uow, merge_id=merge.id, sides=sides, merged_at=merge.created_at, actor=actor
    )
    return merge
