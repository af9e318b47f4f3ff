"""Proof that a customer is at the till: a one-time code sent to their verified email or phone,
which they read out to the associate before their points pay for a sale.

The code is a ``redemption`` code (``models.CodePurpose``): made, hashed and sent as identity
codes are (``verification.issue_code``), with limits of its own (per person, and per staff
principal per hour), but it only ever proves presence for the sale it was sent for
(``bound_to``), for this person, once, within a few minutes and a few tries; an identity code
never proves presence and a presence code never verifies an identifier."""

from __future__ import annotations

from dataclasses import replace

from omniretail.customers import repository as repo
from omniretail.customers.errors import NoVerifiedContact, VerificationCodeInvalid
from omniretail.customers.models import CodePurpose, Identity, IdentityKind
from omniretail.customers.schemas import CodeSendQuotaRead, VerificationSent
from omniretail.customers.service.clusters import require_root
from omniretail.customers.service.verification import (
    CodeHasher,
    CodePolicy,
    issue_code,
    note_refused_send,
    spend_code,
)
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.vault import PiiVault

# Shorter and stricter than an identity code: the customer is standing at the till.
TTL_SECONDS = 300
MAX_ATTEMPTS = 3


def presence_policy(policy: CodePolicy) -> CodePolicy:
    """Its own daily limit per person, and a limit per staff principal per hour across all
    customers: an associate cannot flood one person, nor many."""
    return replace(
        policy,
        ttl_seconds=min(policy.ttl_seconds, TTL_SECONDS),
        max_attempts=min(policy.max_attempts, MAX_ATTEMPTS),
        sends_per_day=policy.presence_sends_per_day,
        principal_sends_per_hour=policy.presence_principal_sends_per_hour,
    )


def presence_binding(reference: str | None, points: int) -> str:
    """What a redemption code is good for: these points on this sale, nothing else (the
    message to the customer names the points: ``points_of_binding``)."""
    return f"{points}|{reference or ''}"


def points_of_binding(bound_to: str | None) -> int | None:
    head, sep, _ = (bound_to or "").partition("|")
    return int(head) if sep and head.isdigit() else None


def request_presence_code(
    uow: UnitOfWork,
    customer_id: int,
    *,
    bound_to: str,
    vault: PiiVault,
    hasher: CodeHasher,
    policy: CodePolicy,
    actor: str,
) -> VerificationSent:
    """Sends a redemption code to the person's verified email (else phone) for ``bound_to``;
    a newer request supersedes the pending one."""
    root = require_root(uow, customer_id)
    ids = repo.cluster_ids(uow.session, root.id)
    contact = _verified_contact(repo.list_identities(uow.session, ids))
    if contact is None:
        raise NoVerifiedContact(
            f"customer {customer_id} has no verified email or phone to send a code to: they can"
            " spend their points signed in to the app or the shop",
            field="customer_id",
        )
    repo.supersede_customer_codes(uow.session, ids, CodePurpose.REDEMPTION.value)
    return issue_code(
        uow,
        contact,
        CodePurpose.REDEMPTION,
        vault=vault,
        hasher=hasher,
        policy=presence_policy(policy),
        actor=actor,
        bound_to=bound_to,
    )


def note_refused_presence_code(uow: UnitOfWork, *, actor: str) -> CodeSendQuotaRead:
    """Counts a presence code refused by the per-principal limit (``CodeSendsLimited``)."""
    return note_refused_send(uow, CodePurpose.REDEMPTION, actor=actor)


def spend_presence_code(
    uow: UnitOfWork,
    customer_id: int,
    code: str,
    *,
    bound_to: str,
    hasher: CodeHasher,
    policy: CodePolicy,
) -> DomainError | None:
    """Uses up the pending redemption code of this person for ``bound_to``; the refusal
    otherwise (a wrong code's attempt is written: the caller commits, then raises)."""
    ids = repo.cluster_ids(uow.session, require_root(uow, customer_id).id)
    row = repo.lock_pending_customer_code(uow.session, ids, CodePurpose.REDEMPTION.value)
    if row is None or row.bound_to != bound_to:
        return VerificationCodeInvalid(
            "no code is waiting for this customer and this sale (used, expired, superseded or"
            " never sent): send a new code to the customer",
            field="presence_code",
        )
    refused = spend_code(uow, row, code, hasher=hasher, policy=presence_policy(policy))
    if refused is not None:
        refused.field = "presence_code"
    return refused


def give_back_presence_code(uow: UnitOfWork, customer_id: int, *, bound_to: str) -> bool:
    """The code this person used for ``bound_to`` works again until it expires: the sale it
    proved presence for was not paid (a card declined), so no points were spent and the
    customer is still at the till. False when there is none to give back. Its wrong tries
    still count."""
    ids = repo.cluster_ids(uow.session, require_root(uow, customer_id).id)
    row = repo.lock_used_customer_code(uow.session, ids, CodePurpose.REDEMPTION.value, bound_to)
    if row is None or uow.now >= row.expires_at:
        return False
    row.status, row.used_at = "pending", None
    uow.session.flush()
    return True


def _verified_contact(identities: list[Identity]) -> Identity | None:
    verified = [i for i in identities if i.verified and i.verified_by]
    for kind in (IdentityKind.EMAIL.value, IdentityKind.PHONE.value):
        found = [i for i in verified if i.kind == kind]
        if found:
            return found[-1]
    return None
