"""GDPR: everything held about a person as one document, and erasure across every domain in
one transaction (order totals and the points ledger, amounts only, stay for the accounts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from omniretail.auth import service as auth
from omniretail.customers import service as customers
from omniretail.customers import service as privacy
from omniretail.customers.errors import CustomerErased, UnknownCustomer
from omniretail.customers.schemas import IdentityKind
from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import service as intelligence
from omniretail.kernel.errors import Conflict
from omniretail.kernel.vault import PiiVault
from omniretail.loyalty import service as loyalty
from omniretail.marketing import service as marketing
from omniretail.notifications import service as notifications
from omniretail.orders import service as order_lookup
from omniretail.orders import service as order_privacy
from omniretail.support import service as support


class PersonalDataExport(BaseModel):
    customer_id: int
    generated_at: str
    customer: dict[str, Any]
    loyalty: dict[str, Any]
    orders: list[dict[str, Any]] = Field(description="the orders of every profile of the person")
    marketing: dict[str, Any] = Field(
        default_factory=dict,
        description="segments, journeys, messages sent and shown, clicks, attributes,"
        " suppressions and stock alerts",
    )
    support: list[dict[str, Any]] = Field(
        default_factory=list,
        description="support conversations (linked to the person or from their verified"
        " addresses) with their messages",
    )


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
        marketing=marketing.personal_data(uow, [root, *section["profile"]["aliases"]]),
        support=support.personal_data(
            uow, [root, *section["profile"]["aliases"]], verified_addresses(uow, root)
        ),
    )


def verified_addresses(uow: UnitOfWork, customer_id: int) -> list[tuple[str, str]]:
    """The person's verified identities as ``(kind, value)``: support conversations written
    from them are the person's (an unverified address may be someone else's)."""
    return [
        (i.kind.value, i.value)
        for i in customers.list_identities(uow, customer_id, vault=uow.vault)
        if i.verified and i.value
    ]


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
    addresses = verified_addresses(uow, root)  # read before the identities go
    summary = privacy.erase_customer(uow, root, actor=actor)
    summary["principals_deleted"] = auth.forget_customer(uow, summary["ids"])
    summary["intelligence_scores_deleted"] = intelligence.forget_customers(uow, summary["ids"])
    summary.update(order_privacy.forget_customer_orders(uow, summary["ids"]))
    summary["notifications_deleted"] = notifications.forget_recipient(
        uow, [str(i) for i in summary["ids"]]
    )
    summary.update(marketing.forget_customers(uow, summary["ids"]))
    summary["support_conversations_deleted"] = support.forget_customer(
        uow, summary["ids"], addresses
    )
    return ErasureReport(customer_id=root, erased_ids=summary["ids"], summary=summary)


class SignUpSweep(BaseModel):
    sign_ins_deleted: int = 0
    profiles_erased: int = 0


def sweep_unverified_sign_ups(uow: UnitOfWork, *, before: datetime, actor: str) -> SignUpSweep:
    """Shop sign-ups created before ``before`` whose email was never verified: the profile
    is erased (with its sign-in) when it is still only what the sign-up made (one unverified
    email, merged with nothing, no order); otherwise only the disabled sign-in goes."""
    report = SignUpSweep()
    for principal_id, customer_id in auth.never_enabled_sign_ups(uow, before):
        if _only_a_sign_up(uow, customer_id):
            erase_customer(uow, customer_id, actor=actor)
            report.profiles_erased += 1
        else:
            auth.delete_sign_ins(uow, [principal_id])
        report.sign_ins_deleted += 1
    return report


def _only_a_sign_up(uow: UnitOfWork, customer_id: int) -> bool:
    try:
        if customers.cluster(uow, customer_id) != [customer_id]:
            return False  # merged into another profile, or others merged into it
    except (UnknownCustomer, CustomerErased):
        return False
    identities = customers.list_identities(uow, customer_id, vault=uow.vault)
    return (
        len(identities) == 1
        and identities[0].kind == IdentityKind.EMAIL
        and not identities[0].verified
        and not order_lookup.list_orders(uow, customer_id, limit=1)
    )
