"""GDPR: everything held about a person as one document, and erasure across every domain in
one transaction (order totals and the points ledger, amounts only, stay for the accounts)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from omniretail.auth import service as auth
from omniretail.customers import service as customers
from omniretail.customers import service as privacy
from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import service as intelligence
from omniretail.kernel.vault import PiiVault
from omniretail.loyalty import service as loyalty
from omniretail.notifications import service as notifications
from omniretail.orders import service as order_lookup
from omniretail.orders import service as order_privacy


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


def export_personal_data(
    uow: UnitOfWork, customer_id: int, *, vault: PiiVault, actor: str
) -> PersonalDataExport:
    """Everything held about the person (the request is logged by the customers domain)."""
    section = privacy.export_personal_data(uow, customer_id, vault=vault, actor=actor)
    root = section["profile"]["id"]
    return PersonalDataExport(
        customer_id=root,
        generated_at=uow.now.isoformat(),
        customer=section,
        loyalty={
            "account": loyalty.account_status(uow, root).model_dump(mode="json"),
            "ledger": [
                e.model_dump(mode="json") for e in loyalty.list_entries(uow, root, limit=100_000)
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


def erase_customer(uow: UnitOfWork, customer_id: int, *, actor: str) -> ErasureReport:
    """Removes or irreversibly anonymises the person's data in every domain. Logged."""
    root = customers.resolve_id(uow, customer_id)
    summary = privacy.erase_customer(uow, root, actor=actor)
    summary["principals_deleted"] = auth.forget_customer(uow, summary["ids"])
    summary["intelligence_scores_deleted"] = intelligence.forget_customers(uow, summary["ids"])
    summary.update(order_privacy.forget_customer_orders(uow, summary["ids"]))
    summary["notifications_deleted"] = notifications.forget_recipient(
        uow, [str(i) for i in summary["ids"]]
    )
    return ErasureReport(customer_id=root, erased_ids=summary["ids"], summary=summary)
