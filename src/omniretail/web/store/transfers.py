"""Transfers arriving at the store: what is on its way, and receiving it, all of it or part
(the rest stays in transit until it arrives). As the API's ``GET /inventory/transfers`` and
``POST /inventory/transfers/{transfer_id}/receive`` (``inventory.service``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import TransferRead, TransferReceive
from omniretail.kernel.errors import DomainError
from omniretail.web.deps import PageRoute, PostedDep, authorize_as, change, read, redirect, render
from omniretail.web.forms import Errors, errors_of
from omniretail.web.store.deps import Shop, ShopDep, shop_of

router = APIRouter(prefix="/store", route_class=PageRoute, include_in_schema=False)


@router.get("/transfers", response_class=HTMLResponse)
def incoming(request: Request, s: ShopDep) -> HTMLResponse:
    authorize_as(request, s.viewer, "GET /inventory/transfers")

    def load(uow: UnitOfWork) -> dict[str, Any]:
        arriving = inventory.list_transfers(
            uow, status="in_transit", to_location=s.store, limit=100
        )
        recent = inventory.list_transfers(uow, status="received", to_location=s.store, limit=10)
        codes = [ln.sku for t in arriving + recent for ln in t.lines]
        return {"arriving": arriving, "recent": recent, "names": catalog.sku_names(uow, codes)}

    return render(request, "store/transfers.html", viewer=s.viewer, shop=s, **read(request, load))


def _page(
    request: Request,
    s: Shop,
    transfer: TransferRead,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    names = read(request, lambda uow: catalog.sku_names(uow, [ln.sku for ln in transfer.lines]))
    return render(
        request,
        "store/transfer.html",
        viewer=s.viewer,
        shop=s,
        status=status,
        transfer=transfer,
        names=names,
        errors=errors or {},
        values=values or {},
    )


@router.get("/transfers/{transfer_id}", response_class=HTMLResponse)
def transfer(request: Request, s: ShopDep, transfer_id: str) -> HTMLResponse:
    params = {"transfer_id": transfer_id}
    authorize_as(request, s.viewer, "GET /inventory/transfers/{transfer_id}", params)
    found = read(request, lambda uow: inventory.get_transfer(uow, transfer_id))
    return _page(request, s, found)


@router.post("/transfers/{transfer_id}/receive", response_model=None)
def receive(request: Request, posted: PostedDep, transfer_id: str) -> Response:
    """One field per line: the units that arrived now (empty or 0: none of that SKU)."""
    found = read(request, lambda uow: inventory.get_transfer(uow, transfer_id))
    lines: list[dict[str, Any]] = []
    rename: dict[str, str] = {}
    errors: Errors = {}
    for line in found.lines:
        name = f"qty-{line.sku}"
        text = posted.get(name)
        if not text:
            continue
        try:
            quantity = int(text)
        except ValueError:
            errors[name] = "Enter a whole number of units."
            continue
        if quantity < 0:
            errors[name] = "Enter 0 or more units."
        elif quantity > 0:
            rename[f"lines.{len(lines)}.quantity"] = name
            rename[f"lines.{len(lines)}.sku"] = name
            lines.append({"sku": line.sku, "quantity": quantity})
    if not lines and not errors:
        errors["__all__"] = "Enter the units that arrived for at least one line."
    body = {"lines": lines}
    params = {"transfer_id": transfer_id}
    decided = authorize_as(
        request, posted.viewer, "POST /inventory/transfers/{transfer_id}/receive", params, body
    )
    s = shop_of(request, posted.viewer)
    actor = posted.viewer.principal.actor
    try:
        if errors:
            raise DomainError(next(iter(errors.values())), field=next(iter(errors)))
        receipt = TransferReceive.model_validate(body)
        done = change(
            request,
            decided,
            lambda uow: inventory.receive_transfer(uow, transfer_id, actor=actor, receipt=receipt),
        )
    except (ValidationError, DomainError) as exc:
        current = read(request, lambda uow: inventory.get_transfer(uow, transfer_id))
        shown = {**errors_of(exc, rename), **errors}
        return _page(request, s, current, errors=shown, values=posted.values, status=422)
    received = sum(line["quantity"] for line in lines)
    notice = f"{received} units received."
    if done.status == "received":
        notice += " The transfer is complete."
    return redirect(f"/store/transfers/{transfer_id}", notice=notice)
