"""The pickup code at the counter: each code tried for a fulfilment is counted before it is
compared, and after ``PICKUP_CODE_TRIES`` the code is refused (a guessed code would hand the
order to a stranger, and a refusal alone cost nothing).

The edges (``POST /fulfilments/{fid}/collect``, the store app's hand-over form) run a code
try in two transactions: ``try_pickup_code`` first, committed whatever the code (a wrong
try stays counted although the handover then rolls back), then ``collect`` with
``tried=True``, which compares it. So parallel tries queue on the fulfilment's row and no
more than ``PICKUP_CODE_TRIES`` are ever compared. Once they are used up only an override
with a reason (an identity check, logged as ``handover_override``) hands the order over; a
code that was right all along is refused too (the counter cannot tell it from a guess).
There is no new code to issue: resending (``resend_pickup_code``) sends the same one."""

from __future__ import annotations

from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import repository as repo
from omniretail.fulfilment.errors import PickupCodeLocked, UnknownFulfilment, WrongPickupCode
from omniretail.fulfilment.moves import illegal
from omniretail.fulfilment.schemas import CollectBody
from omniretail.kernel.keys import same_secret
from omniretail.orders import service as orders
from omniretail.orders.service import PICKUP_CODE_TRIES, FulfilmentStatus
from omniretail.routing.service import FulfilmentMethod

S = FulfilmentStatus


def try_pickup_code(uow: UnitOfWork, fulfilment_id: str) -> None:
    """Counts one code try for the fulfilment, before it is compared (a transaction of its
    own, see the module). Raises ``PickupCodeLocked`` when the tries are used up, and what
    ``collect`` would for an unknown fulfilment or one not waiting for pickup."""
    if repo.count_pickup_try(uow.session, fulfilment_id, PICKUP_CODE_TRIES) is not None:
        return
    f = repo.get_fulfilment(uow.session, fulfilment_id)
    if f is None:
        raise UnknownFulfilment(f"no fulfilment with id {fulfilment_id!r}", field="id")
    if f.status != S.READY_FOR_PICKUP.value:
        raise illegal(f.id, FulfilmentMethod(f.method), S(f.status), S.COLLECTED)
    raise _locked(fulfilment_id)


def handover_detail(uow: UnitOfWork, f: Any, body: CollectBody, *, tried: bool) -> dict[str, Any]:
    """The handover log's detail for ``body`` at fulfilment ``f`` (read under the order's
    lock): the code checked, or an override with its reason. ``tried``: this code was
    counted by ``try_pickup_code``; otherwise a code is compared only while tries are left
    (a caller that counts nothing, such as the till's own sale, cannot pass the limit)."""
    if body.pickup_code is None:
        return {"override": True, "reason": body.override_reason}
    tries = int(f.pickup_code_tries or 0)
    waiting = f.status == S.READY_FOR_PICKUP.value
    if body.override_reason is None and waiting and tries - int(tried) >= PICKUP_CODE_TRIES:
        raise _locked(f.id)
    issued = orders.pickup_code(uow.vault, f)
    if issued is not None and same_secret(issued, body.pickup_code):
        return {"override": False}
    if body.override_reason is not None:
        return {"override": True, "reason": body.override_reason}
    left = max(0, PICKUP_CODE_TRIES - tries)
    raise WrongPickupCode(
        "the pickup code does not match"
        + (
            f" ({left} {'try' if left == 1 else 'tries'} left)"
            if left
            else ": that was the last try, the code is refused from now on"
        )
        + "; ask for the code from the customer's message, or override with a reason after"
        " checking their identity",
        field="pickup_code",
        tries_left=left,
    )


def _locked(fulfilment_id: str) -> PickupCodeLocked:
    return PickupCodeLocked(
        f"{PICKUP_CODE_TRIES} pickup codes were tried for fulfilment {fulfilment_id} without"
        " the right one: its code is refused from now on. Check the customer's identity and"
        " hand over with an override and a reason (logged)",
        field="pickup_code",
        tries_left=0,
    )
