"""Fulfilment steps from a form (accept, pick, pack, ready, ship, deliver, hand over, reject)
and order cancellation: the same use cases, bodies and authorisation as
``POST /api/v1/fulfilments/{fid}/<step>`` and ``POST /api/v1/orders/{number}/cancel``.
Shared by the HQ order page and the store app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError

from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import service as cancellation
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import CollectBody, RejectBody, ShipBody
from omniretail.kernel.errors import DomainError, NotFound
from omniretail.orders.schemas import CancelBody, OrderRead
from omniretail.orders.service import payments_of as payments_of
from omniretail.routing.service import policy_from
from omniretail.web.deps import Decision, Viewer, authorize_as, change
from omniretail.web.forms import Errors, body_of, errors_of
from omniretail.web.session import container_of

STEPS = ("accept", "pick", "pack", "ready", "ship", "deliver", "collect", "reject")
# The permission each step needs, as in the API's route policy.
PERMISSION = "fulfilment:write"
BODIES: dict[str, type[BaseModel]] = {
    "ship": ShipBody,
    "collect": CollectBody,
    "reject": RejectBody,
}


def authorize_step(
    request: Request, viewer: Viewer, fid: str, step: str, values: dict[str, str]
) -> tuple[Decision, dict[str, Any]]:
    """The decision for ``POST /fulfilments/{fid}/<step>`` with the form's body; an unknown
    step is a 404, as in the API."""
    if step not in STEPS:
        raise NotFound(f"unknown step {step!r}")
    schema = BODIES.get(step)
    raw = _upper(values, "pickup_code") if step == "collect" else values
    body = body_of(schema, raw) if schema is not None else {}
    operation = f"POST /fulfilments/{{fid}}/{step}"
    return authorize_as(request, viewer, operation, {"fid": fid}, body), body


def run_step(
    request: Request, decided: Decision, body: dict[str, Any]
) -> tuple[OrderRead | None, Errors]:
    """Performs the decided step with ``body``; returns the order, or the form's errors."""
    actor = decided.viewer.principal.actor
    fid, step = str(decided.action.params["fid"]), decided.action.step
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
            ship = ShipBody.model_validate(body)
            fn = lambda uow: fulfilment.ship(uow, fid, ship, actor=actor)  # noqa: E731
        elif step == "collect":
            collect = CollectBody.model_validate(body)
            if collect.tries_code:  # counted (and audited) first, kept whatever the code
                change(request, decided, lambda uow: fulfilment.try_pickup_code(uow, fid))
                with container.uow() as uow:
                    return fulfilment.collect(uow, fid, collect, actor=actor, tried=True), {}
            fn = lambda uow: fulfilment.collect(uow, fid, collect, actor=actor)  # noqa: E731
        else:
            reject = RejectBody.model_validate(body)
            fn = lambda uow: fulfilment.reject(  # noqa: E731
                uow, fid, reject, policy=policy, actor=actor
            )
        return change(request, decided, fn), {}
    except (ValidationError, DomainError) as exc:
        return None, errors_of(exc, {"": "pickup_code"})


def cancel_order(
    request: Request, viewer: Viewer, number: str, values: dict[str, str]
) -> tuple[OrderRead | None, Errors]:
    """``POST /orders/{number}/cancel`` with the form's body (no lines: the whole order)."""
    actor = viewer.principal.actor
    data = body_of(CancelBody, values)
    decided = authorize_as(
        request, viewer, "POST /orders/{number}/cancel", {"number": number}, data
    )
    try:
        body = CancelBody.model_validate(data)
        order = change(
            request,
            decided,
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
