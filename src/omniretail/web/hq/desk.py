"""The agent's desk in the HQ console (``/hq/desk``): beside the customer, their 360, orders
with live fulfilment states and tracking, return requests and loyalty balance, and the desk
actions (``processes.desk``): refund or cancel a line, start a return, resend the pickup
code, change the pickup store, goodwill points or coupon.

Every action is a two-step form: the first post is authorised as the API operation it stands
for and shows what will happen; the confirming post (``confirm=yes``) runs the same function
the API runs, with the same audit row (``web.deps.change``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.vault import vault_for
from omniretail.loyalty import service as loyalty
from omniretail.processes import desk
from omniretail.web.deps import (
    HqDep,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    read,
    redirect,
    render,
)
from omniretail.web.forms import Errors, body_of, errors_of
from omniretail.web.session import container_of

router = APIRouter(prefix="/hq/desk", route_class=PageRoute, include_in_schema=False)


@dataclass(frozen=True)
class Act:
    name: str  # the key of desk.OPERATIONS
    title: str
    schema: type[BaseModel] | None
    target: str  # the path parameter the form names: number, fid or customer_id
    danger: bool = False


ACTS = {
    "refund-line": Act("refund_line", "Refund a line", desk.LineRefund, "number", True),
    "cancel-line": Act("cancel_line", "Cancel a line", desk.LineCancel, "number", True),
    "start-return": Act("start_return", "Start a return", desk.ReturnStart, "number"),
    "resend-pickup-code": Act("resend_pickup_code", "Resend the pickup code", None, "fid"),
    "pickup-store": Act(
        "change_pickup_store", "Change the pickup store", desk.PickupStoreChange, "fid"
    ),
    "goodwill-points": Act(
        "goodwill_points", "Goodwill points", desk.GoodwillPoints, "customer_id"
    ),
    "goodwill-coupon": Act(
        "goodwill_coupon", "Goodwill coupon", desk.GoodwillCoupon, "customer_id"
    ),
}


def _view(request: Request, customer_id: int) -> desk.DeskView:
    vault = vault_for(container_of(request).keyring)
    return read(request, lambda uow: desk.desk_view(uow, customer_id, vault=vault))


def desk_page(
    request: Request,
    viewer: Viewer,
    customer_id: int,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    form: str = "",
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    return render(
        request,
        "hq/desk_customer.html",
        viewer=viewer,
        status=status,
        view=_view(request, customer_id),
        desk_errors=errors or {},
        values=values or {},
        desk_form=form,
        **extra,
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_desk(request: Request, viewer: HqDep, customer_id: int) -> HTMLResponse:
    authorize_as(request, viewer, "GET /customers/{customer_id}/360", {"customer_id": customer_id})
    return desk_page(request, viewer, customer_id)


@router.get("/customers/{customer_id}/orders", response_class=HTMLResponse)
def customer_orders(
    request: Request, viewer: HqDep, customer_id: int, back: str = ""
) -> HTMLResponse:
    """The orders panel alone (``hq/_desk_orders.html``), which HTMX polls for the orders'
    live states; authorised as the page is. ``back``: where the panel's forms return (the
    conversation the desk sits beside)."""
    authorize_as(request, viewer, "GET /customers/{customer_id}/360", {"customer_id": customer_id})
    return render(
        request,
        "hq/_desk_orders.html",
        viewer=viewer,
        view=_view(request, customer_id),
        back=back if _is_desk_path(back) else "",
    )


@router.get("/customer", response_model=None)
def open_customer(request: Request, viewer: HqDep, id: int) -> Response:
    return redirect(f"/hq/desk/customers/{id}")


@router.post("/customers/{customer_id}/{action}", response_model=None)
def act(request: Request, posted: PostedDep, customer_id: int, action: str) -> Response:
    """First post: authorised, validated, then a confirmation; ``confirm=yes``: done."""
    spec = ACTS.get(action)
    if spec is None:
        return render(
            request,
            "error.html",
            viewer=posted.viewer,
            status=404,
            title="Not found",
            message=f"The desk has no action {action!r}.",
        )
    target = customer_id if spec.target == "customer_id" else posted.get(spec.target)
    raw = {k: v for k, v in posted.values.items() if k not in ("csrf_token", "confirm", "back")}
    back = posted.get("back")
    if not _is_desk_path(back):
        back = f"/hq/desk/customers/{customer_id}"
    body = body_of(spec.schema, raw) if spec.schema else None
    decided = authorize_as(
        request,
        posted.viewer,
        desk.OPERATIONS[spec.name],
        {spec.target: target},
        body,
    )
    try:
        parsed = spec.schema.model_validate(body) if spec.schema else None
        if not target:
            raise DomainError(f"choose the {spec.target.replace('_', ' ')}", field=spec.target)
        if spec.target != "customer_id" and not read(
            request, lambda uow: desk.is_theirs(uow, customer_id, spec.target, str(target))
        ):
            raise DomainError("not an order of this customer", field=spec.target)
    except (ValidationError, DomainError) as exc:
        return desk_page(
            request,
            posted.viewer,
            customer_id,
            errors=errors_of(exc),
            values=raw,
            form=action,
            status=422,
        )
    if posted.get("confirm") != "yes":
        return render(
            request,
            "hq/desk_confirm.html",
            viewer=posted.viewer,
            customer_id=customer_id,
            action=action,
            spec=spec,
            target=target,
            fields=raw,
            back=back,
        )
    settings = container_of(request).settings
    window, actor = settings.return_window_days, posted.viewer.principal.actor
    goodwill = loyalty.Goodwill.of(posted.viewer.principal.person, settings)

    def run(uow: UnitOfWork) -> Any:
        return _perform(
            uow, spec.name, target, parsed, actor=actor, window_days=window, goodwill=goodwill
        )

    try:
        done = change(request, decided, run)
    except DomainError as exc:
        return desk_page(
            request,
            posted.viewer,
            customer_id,
            errors=errors_of(exc),
            values=raw,
            form=action,
            status=exc.status,
        )
    return redirect(back, notice=_notice(spec, done))


def _is_desk_path(back: str) -> bool:
    """Whether ``back`` is a desk page to return to (never another site)."""
    return back.startswith("/hq/desk/") and "//" not in back


def _perform(
    uow: UnitOfWork,
    name: str,
    target: Any,
    body: Any,
    *,
    actor: str,
    window_days: int,
    goodwill: loyalty.Goodwill,
) -> Any:
    if name == "refund_line":
        return desk.refund_line(uow, target, body, window_days=window_days, actor=actor)
    if name == "cancel_line":
        return desk.cancel_line(uow, target, body, actor=actor)
    if name == "start_return":
        return desk.start_return(uow, target, body, window_days=window_days, actor=actor)
    if name == "resend_pickup_code":
        return desk.resend_pickup_code(uow, target, actor=actor)
    if name == "change_pickup_store":
        return desk.change_pickup_store(uow, target, body, actor=actor)
    if name == "goodwill_points":
        return desk.goodwill_points(uow, int(target), body, actor=actor, goodwill=goodwill)
    return desk.goodwill_coupon(uow, int(target), body, actor=actor)


def _notice(spec: Act, done: Any) -> str:
    if spec.name == "refund_line":
        return f"Refunded: order {done.number} has {done.payment.refunded} refunded in all."
    if spec.name == "start_return":
        return f"Return {done.code} started; its label and code went to the customer."
    if spec.name == "goodwill_coupon":
        return f"Coupon {done.code} issued to the customer."
    if spec.name == "goodwill_points":
        return f"Points credited: {done.available} available."
    return f"{spec.title}: done."
