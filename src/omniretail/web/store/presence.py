"""Proof the customer is at the till before their points are spent (``loyalty.service.presence``):
"send code to customer", then the code they read out goes with the redemption. The console
decides and runs these exactly as ``POST /loyalty/customers/{customer_id}/presence-codes`` and
``.../redemptions`` do."""

from __future__ import annotations

from fastapi import Request

from omniretail.customers import service as customers
from omniretail.customers.schemas import VerificationSent
from omniretail.customers.service import CodeHasher, CodePolicy
from omniretail.kernel.vault import vault_for
from omniretail.loyalty import service as loyalty
from omniretail.web.deps import Decision, Viewer, authorize_as, change
from omniretail.web.session import container_of

SEND_CODE = "POST /loyalty/customers/{customer_id}/presence-codes"


def codes_of(request: Request) -> tuple[CodeHasher, CodePolicy]:
    container = container_of(request)
    return customers.hasher_for(container.keyring), customers.code_policy_of(container.settings)


def send_code(
    request: Request, viewer: Viewer, customer_id: int, reference: str, points: int
) -> VerificationSent:
    body = {"reference": reference, "points": points}
    decided = authorize_as(request, viewer, SEND_CODE, {"customer_id": customer_id}, body)
    hasher, policy = codes_of(request)
    actor = viewer.principal.actor
    return loyalty.send_or_count_refusal(  # a refusal counted and audited, as the API does
        lambda fn: change(request, decided, fn),
        customer_id,
        reference,
        points,
        vault=vault_for(container_of(request).keyring),
        hasher=hasher,
        policy=policy,
        actor=actor,
    )


def presence_of(viewer: Viewer, code: str, reference: str, points: int) -> loyalty.Presence:
    """A customer's own console session needs no code (access lets them act on their own
    points only); everyone else needs the one sent for ``reference`` and these ``points``."""
    return loyalty.Presence(
        by_customer=viewer.principal.role == "customer",
        code=code.strip() or None,
        bound_to=customers.presence_binding(reference, points),
    )


def count_wrong_code(
    request: Request, decided: Decision, customer_id: int, presence: loyalty.Presence
) -> None:
    """After a refused code rolled the sale back: the try counts against the code."""
    hasher, policy = codes_of(request)
    change(
        request,
        decided,
        lambda uow: loyalty.count_wrong_code(
            uow, customer_id, presence, hasher=hasher, policy=policy
        ),
    )
