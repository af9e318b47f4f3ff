"""Spending points in person: staff (an associate at the till, an agent, an admin, a system)
spend a customer's points only with the one-time code the customer was just sent
(``customers.service.presence``) for that sale; the signed-in customer spends their own
without one. There is no override: a customer who cannot receive a code spends their points
signed in (docs/security.md, "Loyalty redemptions")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from omniretail.customers import service as customers
from omniretail.customers.errors import CodeSendsLimited
from omniretail.customers.schemas import CodeSendQuotaRead, VerificationSent
from omniretail.customers.service import CodeHasher, CodePolicy
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.vault import PiiVault
from omniretail.loyalty.errors import PresenceCodeRequired, PresenceNotProven
from omniretail.loyalty.schemas import RedemptionCreate, RedemptionRead
from omniretail.loyalty.service.redeem import redeem_points


@dataclass(frozen=True)
class Presence:
    """Who is spending, as the edge authenticated them (never as the request says)."""

    # The signed-in customer spending their own points (access allows only their own).
    by_customer: bool
    # Staff: the code the customer read out, and the sale and points it was sent for
    # (``binding``).
    code: str | None = None
    bound_to: str = ""


def send_presence_code(
    uow: UnitOfWork,
    customer_id: int,
    reference: str | None,
    points: int,
    *,
    vault: PiiVault,
    hasher: CodeHasher,
    policy: CodePolicy,
    actor: str,
) -> VerificationSent:
    return customers.request_presence_code(
        uow,
        customer_id,
        bound_to=customers.presence_binding(reference, points),
        vault=vault,
        hasher=hasher,
        policy=policy,
        actor=actor,
    )


def send_or_count_refusal(
    run: Callable[[Callable[[UnitOfWork], Any]], Any],
    customer_id: int,
    reference: str | None,
    points: int,
    *,
    vault: PiiVault,
    hasher: CodeHasher,
    policy: CodePolicy,
    actor: str,
) -> VerificationSent:
    """``send_presence_code`` in the edge's transaction (``run``: the API's use case, the
    console's change, each with its audit row); a send the per-principal limit refuses is
    counted in a second one (``note_refused_code``) and the refusal raised."""
    try:
        sent: VerificationSent = run(
            lambda uow: send_presence_code(
                uow,
                customer_id,
                reference,
                points,
                vault=vault,
                hasher=hasher,
                policy=policy,
                actor=actor,
            )
        )
    except CodeSendsLimited:
        run(lambda uow: note_refused_code(uow, actor=actor))
        raise
    return sent


def note_refused_code(uow: UnitOfWork, *, actor: str) -> CodeSendQuotaRead:
    """Keeps a send the per-principal hourly limit refused (``CodeSendsLimited``): counted, in
    a transaction of its own that the edge writes the request's audit-log row with."""
    return customers.note_refused_presence_code(uow, actor=actor)


def check_presence(
    uow: UnitOfWork,
    customer_id: int,
    presence: Presence,
    *,
    hasher: CodeHasher,
    policy: CodePolicy,
) -> None:
    """Passes when the customer spends their own or the code proves they are here for this
    sale (the code is then used up); raises otherwise, and the whole sale rolls back: the
    edge then counts the wrong try in a transaction of its own (``count_wrong_code``)."""
    if presence.by_customer:
        return
    if not presence.code:
        raise PresenceCodeRequired(
            "staff spend a customer's points only with the code sent to the customer: send"
            " them a code, then enter the code they read out",
            field="presence_code",
        )
    refused = customers.spend_presence_code(
        uow, customer_id, presence.code, bound_to=presence.bound_to, hasher=hasher, policy=policy
    )
    if refused is not None:
        raise PresenceNotProven(refused.detail, field="presence_code", **refused.extra)


def give_back_presence(uow: UnitOfWork, customer_id: int, presence: Presence) -> bool:
    """After ``check_presence`` passed for a sale that was then not paid: the staff's code
    works again for the same sale and points (until it expires)."""
    if presence.by_customer or not presence.code:
        return False
    return customers.give_back_presence_code(uow, customer_id, bound_to=presence.bound_to)


def count_wrong_code(
    uow: UnitOfWork,
    customer_id: int,
    presence: Presence,
    *,
    hasher: CodeHasher,
    policy: CodePolicy,
) -> None:
    """After a refused code rolled its sale back: the try counts against the code (and an
    expired code is marked so), in a transaction that changes nothing else."""
    if presence.by_customer or not presence.code:
        return
    customers.spend_presence_code(
        uow, customer_id, presence.code, bound_to=presence.bound_to, hasher=hasher, policy=policy
    )


def redeem_in_person(
    uow: UnitOfWork,
    customer_id: int,
    data: RedemptionCreate,
    presence: Presence,
    *,
    hasher: CodeHasher,
    policy: CodePolicy,
    actor: str,
) -> RedemptionRead:
    check_presence(uow, customer_id, presence, hasher=hasher, policy=policy)
    return redeem_points(uow, customer_id, data, actor=actor)
