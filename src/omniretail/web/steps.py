"""Fulfilment steps from a form (accept, pick, pack, ready, ship, deliver, hand over, reject)
and order cancellation: the same use cases and bodies as ``/api/v1/fulfilments/{id}/...``.
Shared by the HQ order page and the store app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from pydantic import ValidationError

from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.orders import cancellation, fulfilment
from omniretail.orders.payments import PaymentProvider
from omniretail.orders.promises import policy_from
from omniretail.orders.schemas import CancelBody, CollectBody, OrderRead, RejectBody, ShipBody
from omniretail.web.deps import Viewer, change
from omniretail.web.forms import Errors, errors_of, parse
from omniretail.web.session import container_of

STEPS = ("accept", "pick", "pack", "ready", "ship", "deliver", "collect", "reject")
# The permission each step needs, as in the API's route policy.
PERMISSION = "fulfilment:write"


def payments_of(request: Request) -> PaymentProvider:
    return container_of(request).payments


def run_step(
    request: Request, viewer: Viewer, fid: str, step: str, values: dict[str, str]
) -> tuple[OrderRead | None, Errors]:
    """Performs ``step`` on fulfilment ``fid``; returns the order, or the form's errors."""
    actor = viewer.principal.actor
    container = container_of(request)
    policy = policy_from(container.settings)
    try:
        fn: Callable[[UnitOfWork], OrderRead]
        if step == "accept":
            fn = lambda uow: fulfilment.accept(uow, fid, actor=actor)  # noqa: E731
        elif step == "pick":
            fn = lambda uow: fulfilment.start_picking(uow, fid, actor=actor)  # noqa: E731
        elif step == "pack":
            fn = lambda uow: fulfilment.pack(uow, fid, actor=actor)  # noqa: E731
        elif step == "deliver":
            fn = lambda uow: fulfilment.deliver(uow, fid, actor=actor)  # noqa: E731
        elif step == "ready":
            fn = lambda uow: fulfilment.ready_for_pickup(uow, fid, policy=policy, actor=actor)  # noqa: E731
        elif step == "ship":
            ship = parse(ShipBody, values)
            fn = lambda uow: fulfilment.ship(uow, fid, ship, actor=actor)  # noqa: E731
        elif step == "collect":
            collect = parse(CollectBody, _upper(values, "pickup_code"))
            fn = lambda uow: fulfilment.collect(uow, fid, collect, actor=actor)  # noqa: E731
        elif step == "reject":
            reject = parse(RejectBody, values)
            fn = lambda uow: fulfilment.reject(  # noqa: E731
                uow, fid, reject, policy=policy, actor=actor
            )
        else:
            return None, {"__all__": f"unknown step {step!r}"}
        return change(request, viewer, "orders", fn), {}
    except (ValidationError, DomainError) as exc:
        return None, errors_of(exc, {"": "pickup_code"})


def cancel_order(
    request: Request, viewer: Viewer, number: str, values: dict[str, str]
) -> tuple[OrderRead | None, Errors]:
    actor = viewer.principal.actor
    try:
        body = parse(CancelBody, values)
        order = change(
            request,
            viewer,
            "orders",
            lambda uow: cancellation.cancel(uow, number, body, actor=actor),
        )
        return order, {}
    except (ValidationError, DomainError) as exc:
        return None, errors_of(exc)


def _upper(values: dict[str, str], name: str) -> dict[str, Any]:
    found = dict(values)
    if found.get(name):
        found[name] = found[name].strip().upper()
    return found
