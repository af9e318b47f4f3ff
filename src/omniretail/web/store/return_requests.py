"""A return started by the customer (a return code, from their shop page or email) received at
this store: the request's lines are pre-filled, the associate says each one's condition, and
the items are booked and refunded by the same use case and decision as
``POST /api/v1/return-requests/{code}/receive`` with this store as the receiving location.
The returns look-up (``returns.py``) sends a return code here."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import ReturnRequestRead, ReturnRequestReceive
from omniretail.kernel.errors import DomainError
from omniretail.web.deps import PageRoute, PostedDep, authorize_as, change, read, redirect, render
from omniretail.web.forms import GENERAL, Errors, errors_of
from omniretail.web.rendering import money
from omniretail.web.session import container_of
from omniretail.web.store.deps import Shop, ShopDep, shop_of, store_for

router = APIRouter(prefix="/store", route_class=PageRoute, include_in_schema=False)
CONDITIONS = [("sellable", "Sellable: restock here"), ("damaged", "Damaged: write off")]


def _page(
    request: Request,
    s: Shop,
    r: ReturnRequestRead,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "store/return_request.html",
        viewer=s.viewer,
        shop=s,
        r=r,
        conditions=CONDITIONS,
        values=values or {},
        errors=errors or {},
        status=status,
    )


@router.get("/return-requests/{code}", response_class=HTMLResponse)
def request_page(request: Request, s: ShopDep, code: str) -> HTMLResponse:
    code = fulfilment.normalise_return_code(code)
    authorize_as(request, s.viewer, "GET /return-requests/{code}", {"code": code})
    found = read(request, lambda uow: fulfilment.get_return_request(uow, code))
    return _page(request, s, found)


def _body(r: ReturnRequestRead, values: dict[str, str], store: str | None) -> dict[str, object]:
    return {
        "location": store,
        "lines": [
            {"line_no": ln.line_no, "condition": values.get(f"condition-{ln.line_no}", "sellable")}
            for ln in r.lines
        ],
    }


@router.post("/return-requests/{code}", response_model=None)
def receive(request: Request, posted: PostedDep, code: str) -> Response:
    code = fulfilment.normalise_return_code(code)
    store = store_for(request, posted.viewer)
    decided = authorize_as(
        request,
        posted.viewer,
        "POST /return-requests/{code}/receive",
        {"code": code},
        {"location": store},  # the lines' conditions do not change the decision
    )
    s = shop_of(request, posted.viewer)
    found = read(request, lambda uow: fulfilment.get_return_request(uow, code))
    raw = _body(found, posted.values, store)
    window = container_of(request).settings.return_window_days
    actor = s.viewer.principal.actor
    try:
        body = ReturnRequestReceive.model_validate(raw)
        change(
            request,
            decided,
            lambda uow: fulfilment.receive_return_request(
                uow, code, body, window_days=window, actor=actor
            ),
        )
    except (ValidationError, DomainError) as exc:
        rename = {"location": GENERAL, "lines": GENERAL, "code": GENERAL}
        for index, ln in enumerate(found.lines):
            rename[f"lines.{index}.condition"] = f"condition-{ln.line_no}"
        fresh = read(request, lambda uow: fulfilment.get_return_request(uow, code))
        return _page(
            request, s, fresh, values=posted.values, errors=errors_of(exc, rename), status=409
        )
    return redirect(f"/store/return-requests/{code}", notice=_notice(found, body, s.store))


def _notice(r: ReturnRequestRead, body: ReturnRequestReceive, store: str) -> str:
    damaged_lines = {ln.line_no for ln in body.lines if ln.condition == "damaged"}
    damaged = sum(ln.quantity for ln in r.lines if ln.line_no in damaged_lines)
    sellable = sum(ln.quantity for ln in r.lines) - damaged
    refund = sum((ln.unit_price * ln.quantity for ln in r.lines), Decimal("0"))
    parts = [f"Received: refund {money(refund, r.currency)} to the original payment."]
    if sellable:
        parts.append(f"{sellable} restocked at {store}.")
    if damaged:
        parts.append(f"{damaged} written off at {store}.")
    return " ".join(parts)
