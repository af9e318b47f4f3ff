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
from omniretail.kernel.errors import Conflict
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


# An order in one of these states is over: nothing left to hand over, refund or contact.
CLOSED_ORDER_STATES = frozenset({"completed", "cancelled", "returned_to_stock"})


class ErasureHeld(Conflict):
    """The person asked for erasure while an order of theirs is open (``open_orders``): the
    order still needs their contact details and address until it is done or cancelled."""

    slug = "erasure-held"
    title = "Erasure held while an order is open"


def open_orders(uow: UnitOfWork, customer_id: int) -> list[str]:
    """The numbers of the person's orders (every profile) that are not over yet."""
    root = customers.resolve_id(uow, customer_id)
    return [
        o.number
        for profile_id in customers.cluster(uow, root)
        for o in order_lookup.list_orders(uow, profile_id, limit=100_000)
        if o.status not in CLOSED_ORDER_STATES
    ]


def erase_customer(
    uow: UnitOfWork, customer_id: int, *, actor: str, hold_open_orders: bool = False
) -> ErasureReport:
    """Removes or irreversibly anonymises the person's data in every domain. Logged. With
    ``hold_open_orders`` (the person's own request) it raises ``ErasureHeld`` instead while
    an order is open."""
    root = customers.resolve_id(uow, customer_id)
    if hold_open_orders:
        held = open_orders(uow, root)
        if held:
            many = len(held) > 1
            raise ErasureHeld(
                f"order{'s' if many else ''} {', '.join(held)} {'are' if many else 'is'}"
                " still open: your data can be erased once they are delivered, collected or"
                " cancelled",
                field="customer_id",
                orders=held,
            )
    summary = privacy.erase_customer(uow, root, actor=actor)
    summary["principals_deleted"] = auth.forget_customer(uow, summary["ids"])
    summary["intelligence_scores_deleted"] = intelligence.forget_customers(uow, summary["ids"])
    summary.update(order_privacy.forget_customer_orders(uow, summary["ids"]))
    summary["notifications_deleted"] = notifications.forget_recipient(
        uow, [str(i) for i in summary["ids"]]
    )
    return ErasureReport(customer_id=root, erased_ids=summary["ids"], summary=summary)
