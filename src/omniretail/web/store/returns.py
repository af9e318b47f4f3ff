"""Returns at the store (BORIS): find an order bought anywhere, by number or by the
customer's email or phone, and take items back, restocked or written off at this store."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import service as returns
from omniretail.fulfilment.schemas import RefundRead, ReturnCreate
from omniretail.kernel.errors import DomainError
from omniretail.orders import service as lookup
from omniretail.orders.schemas import OrderRead
from omniretail.web.deps import PageRoute, PostedDep, authorize_as, change, read, redirect, render
from omniretail.web.forms import GENERAL, Errors, errors_of
from omniretail.web.lookup import find_customer_id
from omniretail.web.rendering import money
from omniretail.web.session import container_of
from omniretail.web.store.deps import Shop, ShopDep, shop_of, store_for

router = APIRouter(prefix="/store", route_class=PageRoute, include_in_schema=False)
LOOKUP_KINDS = [("number", "Order number"), ("email", "Email"), ("phone", "Phone")]


# --- returns: find an order bought anywhere --------------------------------------------------


@router.get("/returns", response_class=HTMLResponse)
def returns_page(request: Request, s: ShopDep) -> HTMLResponse:
    return render(
        request,
        "store/returns.html",
        viewer=s.viewer,
        shop=s,
        kinds=LOOKUP_KINDS,
        conditions=CONDITIONS,
        reasons=REASONS,
        values={"kind": "number"},
        orders=None,
    )


@router.post("/returns", response_model=None)
def returns_lookup(request: Request, posted: PostedDep) -> Response:
    """By order number, or by the customer's email or phone (a POST keeps them out of URLs):
    ``GET /orders``, after ``POST /customers/lookup`` for a person."""
    kind, value = posted.get("kind"), posted.get("value")
    if kind == "number" and returns.looks_like_return_code(value):  # a return code instead
        return redirect(f"/store/return-requests/{returns.normalise_return_code(value)}")
    authorize_as(request, posted.viewer, "GET /orders")
    if kind != "number":
        lookup_body = {"kind": kind, "value": value}
        authorize_as(request, posted.viewer, "POST /customers/lookup", body=lookup_body)
    s = shop_of(request, posted.viewer)
    orders: list[OrderRead] = []
    errors: Errors = {}
    try:
        if not value:
            raise DomainError("enter what to look up", field="value")
        if kind == "number":
            orders = [read(request, lambda uow: lookup.get_order(uow, value.upper()))]
        else:
            cid = find_customer_id(request, kind, value)
            orders = read(request, lambda uow: _orders_of_person(uow, cid))
    except DomainError as exc:
        errors = errors_of(exc, {"number": "value", "customer_id": "value", "email": "value"})
    return render(
        request,
        "store/returns.html",
        viewer=s.viewer,
        shop=s,
        kinds=LOOKUP_KINDS,
        conditions=CONDITIONS,
        reasons=REASONS,
        values=posted.values,
        errors=errors,
        orders=orders,
        status=404 if errors else 200,
    )


# --- returns: take items back (BORIS), restocked or written off at this store ---------------

LINE_IN_MESSAGE = re.compile(r"^line (\d+)\b")
CONDITIONS = [("sellable", "Sellable: restock here"), ("damaged", "Damaged: write off")]
REASONS = [
    ("changed_mind", "Changed their mind"),
    ("size_fit", "Wrong size or fit"),
    ("faulty", "Faulty or damaged"),
    ("not_as_described", "Not as described"),
    ("wrong_item", "Wrong item sent"),
    ("other", "Other (say why)"),
]


def _return_page(
    request: Request,
    s: Shop,
    order: OrderRead,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    confirm: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "store/returns.html",
        viewer=s.viewer,
        shop=s,
        kinds=LOOKUP_KINDS,
        conditions=CONDITIONS,
        reasons=REASONS,
        values={"kind": "number", "value": order.number, **(values or {})},
        errors=errors or {},
        orders=[order],
        confirm=confirm,
        refunds=read(request, lambda uow: returns.refunds_of_order(uow, order.number)),
        status=status,
    )


@router.get("/returns/{number}", response_class=HTMLResponse)
def return_form(request: Request, s: ShopDep, number: str) -> HTMLResponse:
    number = number.strip().upper()
    authorize_as(request, s.viewer, "GET /orders/{number}", {"number": number})
    order = read(request, lambda uow: lookup.get_order(uow, number))
    return _return_page(request, s, order)


QTY_FIELD = re.compile(r"^qty-(\d{1,6})$")


def _picked(values: dict[str, str]) -> list[dict[str, Any]]:
    """The lines picked on the form (a quantity above zero), as the API's body names them."""
    picked: list[dict[str, Any]] = []
    for name, text in values.items():
        found = QTY_FIELD.match(name)
        if found is None or text.strip() in ("", "0"):
            continue
        line_no, text = int(found.group(1)), text.strip()
        picked.append(
            {
                "line_no": line_no,
                "quantity": int(text) if text.lstrip("-").isdigit() else text,
                "condition": values.get(f"condition-{line_no}", "sellable"),
            }
        )
    return sorted(picked, key=lambda line: int(line["line_no"]))


def _reason(values: dict[str, str]) -> str:
    """Why the items come back, as the lines' ``reason``: a reason from the list, with the
    associate's words (needed for "other")."""
    chosen = dict(REASONS).get(values.get("reason", "").strip())
    note = values.get("reason_note", "").strip()
    if chosen is None:
        raise DomainError("choose why the items come back", field="reason")
    if values.get("reason") == "other" and not note:
        raise DomainError("say why the items come back", field="reason_note")
    return f"{chosen}: {note}" if note else chosen


def _return_body(order: OrderRead, values: dict[str, str], store: str) -> ReturnCreate:
    """The picked lines of the order's items, with the reason, as the API's body."""
    items = {line.line_no for line in order.lines if line.sku}
    picked = [line for line in _picked(values) if line["line_no"] in items]
    if not picked:
        first = next((ln.line_no for ln in order.lines if ln.returnable > 0), None)
        raise DomainError(
            "enter how many units of an item come back",
            field=f"qty-{first}" if first is not None else GENERAL,
        )
    reason = _reason(values)
    lines = [{**line, "reason": reason} for line in picked]
    return ReturnCreate.model_validate({"location": store, "lines": lines})


def _return_errors(exc: ValidationError | DomainError, body_lines: list[int]) -> Errors:
    """The service's problem beside the line it is about (its quantity field)."""
    if isinstance(exc, DomainError):
        if exc.field and (exc.field.startswith("qty-") or exc.field.startswith("reason")):
            return {exc.field: exc.detail}
        if exc.field == "lines":
            found = LINE_IN_MESSAGE.match(exc.detail)
            if found:
                return {f"qty-{found.group(1)}": exc.detail}
            if len(body_lines) == 1:
                return {f"qty-{body_lines[0]}": exc.detail}
        return {GENERAL: exc.detail}
    rename: dict[str, str] = {"location": GENERAL, "lines": GENERAL}
    for index, line_no in enumerate(body_lines):
        rename[f"lines.{index}.quantity"] = f"qty-{line_no}"
        rename[f"lines.{index}.condition"] = f"condition-{line_no}"
    return errors_of(exc, rename)


@router.post("/returns/{number}", response_model=None)
def return_items(request: Request, posted: PostedDep, number: str) -> Response:
    """A BORIS return at the associate's store: the same use case and authorisation as
    ``POST /api/v1/orders/{number}/returns`` with this store as the receiving location."""
    number = number.strip().upper()
    decided = authorize_as(
        request,
        posted.viewer,
        "POST /orders/{number}/returns",
        {"number": number},
        {"location": store_for(request, posted.viewer), "lines": _picked(posted.values)},
    )
    s = shop_of(request, posted.viewer)
    order = read(request, lambda uow: lookup.get_order(uow, number))
    values = posted.values
    actor = s.viewer.principal.actor
    window = container_of(request).settings.return_window_days
    picked: list[int] = []
    try:
        body = _return_body(order, values, s.store)
        picked = [ln.line_no for ln in body.lines]
        if values.get("confirm") != "yes":
            quoted = _dry_run(request, number, body, window, actor)
            summary = _confirmation(order, body, s.store, quoted)
            return _return_page(request, s, order, values=values, confirm=summary)
        refund = change(
            request,
            decided,
            lambda uow: _return_and_read(uow, number, body, window, actor),
        )
    except (ValidationError, DomainError) as exc:
        if not picked:
            picked = [
                ln.line_no
                for ln in order.lines
                if values.get(f"qty-{ln.line_no}", "").strip() not in ("", "0")
            ]
        fresh = read(request, lambda uow: lookup.get_order(uow, number))
        return _return_page(
            request,
            s,
            fresh,
            values=values,
            errors=_return_errors(exc, picked),
            status=422,
        )
    notice = _return_notice(order, body, s.store, refund)
    return redirect(f"/store/returns/{number}", notice=notice)


def _return_and_read(
    uow: UnitOfWork, number: str, body: ReturnCreate, window: int, actor: str
) -> RefundRead:
    """The return, and the refund it made (the order's latest)."""
    returns.return_items(uow, number, body, window_days=window, actor=actor)
    return returns.refunds_of_order(uow, number)[-1]


class _Possible(Exception):
    """Ends a dry run of a return that would succeed; its transaction rolls back."""

    def __init__(self, refund: RefundRead) -> None:
        self.refund = refund


def _dry_run(
    request: Request, number: str, body: ReturnCreate, window: int, actor: str
) -> RefundRead:
    """The return as it would run now, rolled back: what the service refuses (more than is
    left, past the window) is said, and the refund it would make shown, before the associate
    is asked to confirm the refund."""
    try:
        with container_of(request).uow() as uow:
            raise _Possible(_return_and_read(uow, number, body, window, actor))
    except _Possible as possible:
        return possible.refund


def _confirmation(
    order: OrderRead, body: ReturnCreate, store: str, refund: RefundRead
) -> dict[str, Any]:
    """What the associate confirms before the refund: items, where they go, what each
    refunds with its tax, and what a broken promotion keeps back."""
    by_no = {ln.line_no: ln for ln in order.lines}
    shares = {ln.line_no: ln for ln in refund.lines}
    items: list[dict[str, Any]] = []
    for ln in body.lines:
        bought = by_no[ln.line_no]
        share = shares[ln.line_no]
        fate = f"restocked at {store}" if ln.condition == "sellable" else "written off"
        items.append(
            {
                "name": bought.name or bought.sku,
                "quantity": ln.quantity,
                "fate": fate,
                "refund": share.amount,
                "paid": share.paid,
                "tax": share.tax,
                "tax_rate": share.tax_rate,
            }
        )
    return {
        "items": items,
        "refund": refund.amount,
        "tax": refund.tax,
        "kept_back": [k.note for k in refund.kept_back],
        "reason": body.lines[0].reason,
    }


def _return_notice(order: OrderRead, body: ReturnCreate, store: str, refund: RefundRead) -> str:
    sellable = sum(ln.quantity for ln in body.lines if ln.condition == "sellable")
    damaged = sum(ln.quantity for ln in body.lines if ln.condition == "damaged")
    parts = [f"Returned: refund {money(refund.amount, order.currency)} to the original payment."]
    parts += [f"{k.note}." for k in refund.kept_back]
    if sellable:
        parts.append(f"{sellable} restocked at {store}.")
    if damaged:
        parts.append(f"{damaged} written off at {store}.")
    return " ".join(parts)


def _orders_of_person(uow: UnitOfWork, customer_id: int) -> list[OrderRead]:
    """Every order of the person, whichever of their merged profiles it was placed with."""
    found: list[OrderRead] = []
    for cid in customers.cluster(uow, customer_id):
        found += lookup.list_orders(uow, cid, limit=20)
    return sorted(found, key=lambda o: o.placed_at, reverse=True)[:20]
