"""A signed-in customer starts a return of a handed-over order (by post or in store) and gets
a return code: the request's page, its printable label (the code as text and a QR code) and
cancelling it. The same use cases and decisions as ``POST /orders/{number}/return-requests``
and ``POST /return-requests/{code}/cancel``; the refund comes when the items are received."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.api.qr import qr_response
from omniretail.auth import access
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import (
    RETURN_REASONS,
    ReturnRequestCreate,
    ReturnRequestRead,
)
from omniretail.kernel.errors import DomainError
from omniretail.orders import service as lookup
from omniretail.orders.schemas import OrderRead
from omniretail.web.deps import (
    CustomerDep,
    NotAllowed,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    customer_viewer,
    read,
    redirect,
    render,
)
from omniretail.web.forms import GENERAL, Errors, errors_of
from omniretail.web.session import container_of
from omniretail.web.shop.orders import own_order, requestable

router = APIRouter(route_class=PageRoute, include_in_schema=False)
METHODS = [
    ("in_store", "In store: bring the items to any of our stores"),
    ("post", "By post: print a label and send a parcel"),
]
REASONS = list(RETURN_REASONS.items())
QTY_FIELD = re.compile(r"^qty-(\d{1,6})$")
LINE_IN_MESSAGE = re.compile(r"^line (\d+)\b")
MAX_CODE = 16


def _form(
    request: Request,
    viewer: Viewer,
    number: str,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    loaded = own_order(request, viewer, number)
    order: OrderRead = loaded["order"]
    left = requestable(order, loaded["requests"])
    return render(
        request,
        "shop/return_start.html",
        viewer=viewer,
        status=status,
        order=order,
        left=left,
        methods=METHODS,
        reasons=REASONS,
        values=values or {"method": "in_store"},
        errors=errors or {},
    )


@router.get("/account/orders/{number}/return", response_class=HTMLResponse)
def start_page(request: Request, number: str, viewer: CustomerDep) -> HTMLResponse:
    return _form(request, viewer, number)


def _body(values: dict[str, str]) -> dict[str, Any]:
    lines = []
    for name, text in values.items():
        found = QTY_FIELD.match(name)
        if found is None or text.strip() in ("", "0"):
            continue
        text = text.strip()
        lines.append(
            {
                "line_no": int(found.group(1)),
                "quantity": int(text) if text.lstrip("-").isdigit() else text,
            }
        )
    lines.sort(key=lambda line: int(line["line_no"]))
    return {"method": values.get("method"), "reason": values.get("reason"), "lines": lines}


@router.post("/account/orders/{number}/return", response_model=None)
def start(request: Request, number: str, posted: PostedDep) -> Response:
    viewer = customer_viewer(request)
    own_order(request, viewer, number)  # a 404 for others' numbers, before the decision
    raw = _body(posted.values)
    decided = authorize_as(
        request, viewer, "POST /orders/{number}/return-requests", {"number": number}, raw
    )
    window = container_of(request).settings.return_window_days
    actor = viewer.principal.actor
    lines = [int(ln["line_no"]) for ln in raw["lines"]]
    try:
        if not raw["lines"]:
            raise DomainError("choose how many of an item you send back", field=GENERAL)
        body = ReturnRequestCreate.model_validate(raw)
        made = change(
            request,
            decided,
            lambda uow: fulfilment.request_return(
                uow, number, body, window_days=window, actor=actor
            ),
        )
    except (ValidationError, DomainError) as exc:
        rename = {"lines": GENERAL, "method": "method", "reason": "reason"}
        for index, line_no in enumerate(lines):
            rename[f"lines.{index}.quantity"] = f"qty-{line_no}"
        errors = errors_of(exc, rename)
        if isinstance(exc, DomainError) and exc.field == "lines":
            about = LINE_IN_MESSAGE.match(exc.detail)
            if about is not None:  # beside the line it is about
                errors = {f"qty-{about.group(1)}": exc.detail}
        status = exc.status if isinstance(exc, DomainError) else 422
        return _form(request, viewer, number, values=posted.values, errors=errors, status=status)
    return redirect(f"/account/returns/{made.code}", notice="Your return is registered.")


def _own_request(request: Request, viewer: Viewer, code: str) -> ReturnRequestRead:
    if len(code) > MAX_CODE:
        raise NotAllowed("No such return.", status=404)

    def load(uow: UnitOfWork) -> ReturnRequestRead:
        number = fulfilment.return_request_order(uow, code)
        owner = lookup.order_customer(uow, number) if number else None
        if owner is None or owner.customer_id is None:
            raise NotAllowed("No such return.", status=404)
        if not access.same_person(uow, viewer.principal, owner.customer_id):
            raise NotAllowed("No such return.", status=404)
        return fulfilment.get_return_request(uow, code)

    return read(request, load)


@router.get("/account/returns/{code}", response_class=HTMLResponse)
def request_page(request: Request, code: str, viewer: CustomerDep) -> HTMLResponse:
    made = _own_request(request, viewer, code)
    return render(request, "shop/return.html", viewer=viewer, r=made)


@router.get("/account/returns/{code}/label", response_class=HTMLResponse)
def label_page(request: Request, code: str, viewer: CustomerDep) -> HTMLResponse:
    made = _own_request(request, viewer, code)
    if made.method != "post":
        raise NotAllowed(
            "A return in store needs no label: show the code at the counter.", status=404
        )
    return render(request, "shop/return_label.html", viewer=viewer, r=made)


@router.get("/account/returns/{code}/qr.svg", response_model=None)
def label_qr(request: Request, code: str, viewer: CustomerDep) -> Response:
    made = _own_request(request, viewer, code)
    return qr_response(made.code, "svg")


@router.post("/account/returns/{code}/cancel", response_model=None)
def cancel(request: Request, code: str, posted: PostedDep) -> Response:
    viewer = customer_viewer(request)
    made = _own_request(request, viewer, code)
    decided = authorize_as(
        request, viewer, "POST /return-requests/{code}/cancel", {"code": made.code}
    )
    actor = viewer.principal.actor
    try:
        change(
            request,
            decided,
            lambda uow: fulfilment.cancel_return_request(uow, made.code, actor=actor),
        )
    except DomainError as exc:
        return render(
            request,
            "shop/return.html",
            viewer=viewer,
            r=_own_request(request, viewer, code),
            errors={GENERAL: exc.detail},
            status=exc.status,
        )
    return redirect(f"/account/returns/{made.code}", notice="Your return is cancelled.")
