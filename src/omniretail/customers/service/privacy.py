"""GDPR: export everything held about a person; erase (anonymise) it, keeping order totals.

Both are logged in ``privacy_requests`` (who and when, never the exported content)."""

from __future__ import annotations

from typing import Any

from omniretail.customers import repository as repo
from omniretail.customers.events import Erased, Exported
from omniretail.customers.models import CustomerStatus, PrivacyRequest
from omniretail.customers.schemas import PrivacyLogRead
from omniretail.customers.service.activity import activity_read
from omniretail.customers.service.clusters import require_root
from omniretail.customers.service.consents import consent_history, list_consents
from omniretail.customers.service.identities import list_identities
from omniretail.customers.service.merges import merge_read
from omniretail.customers.service.profiles import get_customer
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.vault import PiiVault


def export_personal_data(
    uow: UnitOfWork, customer_id: int, *, vault: PiiVault, actor: str
) -> dict[str, Any]:
    """The customers domain's part of the export: profile, aliases, identities, consents and
    their history, the whole timeline, merges, linked anonymous ids and earlier requests."""
    root = require_root(uow, customer_id)
    ids = repo.cluster_ids(uow.session, root.id)
    section = {
        "profile": get_customer(uow, root.id, vault=vault).model_dump(mode="json"),
        "identities": [
            i.model_dump(mode="json") for i in list_identities(uow, root.id, vault=vault)
        ],
        "consents": [c.model_dump(mode="json") for c in list_consents(uow, root.id)],
        "consent_history": [c.model_dump(mode="json") for c in consent_history(uow, root.id)],
        "timeline": [
            activity_read(a).model_dump(mode="json") for a in repo.all_activity(uow.session, ids)
        ],
        "anonymous_ids": repo.anonymous_ids_of(uow.session, ids),
        "merges": [
            merge_read(m).model_dump(mode="json") for m in repo.list_merges(uow.session, ids)
        ],
        "privacy_requests": [p.model_dump(mode="json") for p in privacy_log(uow, root.id)],
    }
    repo.log_privacy(
        uow.session,
        PrivacyRequest(
            customer_id=root.id,
            action="export",
            actor=actor,
            occurred_at=uow.now,
            summary={"ids": ids, "timeline_entries": len(section["timeline"])},
        ),
    )
    uow.record(Exported(customer_id=root.id, actor=actor))
    return section


def erase_customer(uow: UnitOfWork, customer_id: int, *, actor: str) -> dict[str, Any]:
    """Irreversibly removes the person's data from every profile of the cluster: ciphertexts
    and blind indexes are deleted (not just the key), behaviour and anonymous ids go, consent
    history keeps only what was answered and when, orders and returns keep their amounts.
    The profile rows stay, anonymous, so order totals still add up in the accounts."""
    root = require_root(uow, customer_id)
    session = uow.session
    ids = repo.cluster_ids(session, root.id)
    summary: dict[str, Any] = {"ids": ids, "identities_deleted": 0}
    locked = repo.lock_customers(session, ids)
    for customer in locked:
        customer.name_enc = None
        customer.address_enc = None
        customer.birth_date_enc = None
        customer.birthday = None
        customer.name_postcode_index = None
        customer.surname_index = None
        customer.postcode_index = None
        customer.home_store = None
        customer.customer_number = None
        customer.merged_into_id = None
        customer.status = CustomerStatus.ERASED.value
        customer.erased_at = uow.now
        customer.updated_at = uow.now
        session.flush()
        summary["identities_deleted"] += repo.delete_identities(session, customer.id)
        repo.strip_consent_provenance(session, customer.id)
        for key, count in repo.erase_activity(session, customer.id).items():
            summary[key] = summary.get(key, 0) + count
        repo.close_reviews_of(session, customer.id, uow.now, actor)
        for merge in repo.list_merges(session, [customer.id]):
            merge.reason = "erased"
            merge.changes = {}
    session.flush()
    repo.log_privacy(
        uow.session,
        PrivacyRequest(
            customer_id=root.id, action="erase", actor=actor, occurred_at=uow.now, summary=summary
        ),
    )
    uow.record(Erased(customer_id=root.id, ids=ids))
    return summary


def privacy_log(uow: UnitOfWork, customer_id: int) -> list[PrivacyLogRead]:
    ids = repo.cluster_ids(uow.session, customer_id)
    return [
        PrivacyLogRead(
            id=p.id,
            customer_id=p.customer_id,
            action=p.action,
            actor=p.actor,
            occurred_at=p.occurred_at,
            summary=p.summary,
        )
        for p in repo.privacy_log(uow.session, ids)
    ]
