"""HQ inventory: the SKU x location grid with filters, one stock record with its ledger and
the adjust and count forms, and transfers between locations."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.catalog import service as catalog
from omniretail.catalog.service import LocationKind
from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import service as intelligence
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import AdjustmentCreate, CountCreate, TransferCreate
from omniretail.kernel.errors import DomainError
from omniretail.web.deps import (
    HqDep,
    PageRoute,
    PostedDep,
    authorize_as,
    change,
    read,
    redirect,
    render,
)
from omniretail.web.forms import Errors, body_of, day_filter, errors_of
from omniretail.web.hq.export import MAX_ROWS, csv_link, csv_response, paged

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
PAGE = 25
CSV_SKUS = 200


@router.get("/inventory", response_model=None)
def grid(
    request: Request,
    viewer: HqDep,
    q: str = "",
    kind: str = "",
    location: str = "",
    page: int = 1,
    format: str = "",
) -> Response:
    authorize_as(request, viewer, "GET /inventory/stock")
    page = max(1, page)
    kinds = {k.value for k in LocationKind}
    if format == "csv":
        return _grid_csv(request, q, kind if kind in kinds else None, location)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        locations = catalog.list_locations(uow, kind if kind in kinds else None)
        if location:
            locations = [loc for loc in locations if loc.code == location.strip().upper()]
        skus = catalog.list_skus(
            uow, offset=(page - 1) * PAGE, limit=PAGE + 1, query=q.strip() or None
        )
        shown = skus[:PAGE]
        cells: dict[tuple[str, str], Any] = {}
        if shown and locations:
            for row in inventory.availability(
                uow, [s.code for s in shown], locations=[loc.code for loc in locations]
            ):
                for cell in row.locations:
                    cells[(row.sku, cell.location)] = cell
        return {
            "locations": locations,
            "skus": shown,
            "more": len(skus) > PAGE,
            "cells": cells,
            "all_locations": catalog.list_locations(uow),
        }

    context = read(request, load)
    template = "hq/_grid.html" if request.headers.get("hx-request") else "hq/inventory.html"
    return render(
        request,
        template,
        viewer=viewer,
        q=q,
        kind=kind,
        location=location,
        page=page,
        kinds=sorted(kinds),
        csv=csv_link("/hq/inventory", q=q, kind=kind, location=location),
        **context,
    )


def _grid_csv(request: Request, q: str, kind: str | None, location: str) -> Response:
    """One row per SKU and location of the grid's filters, every page of SKUs (a page of
    SKUs per unit of work)."""

    def fetch(offset: int, uow: UnitOfWork) -> tuple[list[list[Any]], bool]:
        locations = [
            loc.code
            for loc in catalog.list_locations(uow, kind)
            if not location or loc.code == location.strip().upper()
        ]
        skus = catalog.list_skus(uow, offset=offset, limit=CSV_SKUS, query=q.strip() or None)
        cells = {}
        if skus and locations:
            for row in inventory.availability(uow, [s.code for s in skus], locations=locations):
                for cell in row.locations:
                    cells[(row.sku, cell.location)] = cell
        rows = []
        for sku in skus:
            for code in locations:
                found = cells.get((sku.code, code))
                rows.append(
                    [sku.code, sku.name, code, found.available if found else 0,
                     found.on_hand if found else 0]
                )  # fmt: skip
        return rows, len(skus) == CSV_SKUS

    def rows() -> Iterator[list[Any]]:
        offset = 0
        while offset < MAX_ROWS:
            batch, more = read(request, partial(fetch, offset))
            yield from batch
            if not more:
                return
            offset += CSV_SKUS

    header = ["sku", "product", "location", "available", "on_hand"]
    return csv_response("inventory.csv", header, rows())


def _record(request: Request, sku: str, location: str) -> dict[str, Any]:
    def load(uow: UnitOfWork) -> dict[str, Any]:
        found = {
            "level": inventory.get_stock_level(uow, sku, location),
            "movements": inventory.list_movements(uow, sku=sku, location=location, limit=50),
            "sku_read": catalog.get_sku(uow, sku),
            "location_read": catalog.get_location(uow, location),
        }
        block = intelligence.product_intelligence(uow, [sku], together=5)[sku]
        return {
            **found,
            "together": block.bought_together,
            "names": catalog.sku_names(uow, [r.sku for r in block.bought_together]),
        }

    return read(request, load)


@router.get("/inventory/{sku}/{location}", response_class=HTMLResponse)
def record(request: Request, viewer: HqDep, sku: str, location: str) -> HTMLResponse:
    sku, location = sku.strip().upper(), location.strip().upper()
    params = {"sku": sku, "location": location}
    authorize_as(request, viewer, "GET /inventory/stock/{sku}/{location}", params)
    return render(
        request,
        "hq/stock.html",
        viewer=viewer,
        sku=sku,
        location=location,
        **_record(request, sku, location),
    )


@router.post("/inventory/{sku}/{location}/adjust", response_model=None)
def adjust(request: Request, posted: PostedDep, sku: str, location: str) -> Response:
    sku, location = sku.strip().upper(), location.strip().upper()
    data = body_of(AdjustmentCreate, posted.values, sku=sku, location=location)
    decided = authorize_as(request, posted.viewer, "POST /inventory/adjustments", body=data)
    try:
        body = AdjustmentCreate.model_validate(data)
        change(
            request,
            decided,
            lambda uow: inventory.adjust_stock(uow, body, actor=posted.viewer.principal.actor),
        )
    except (ValidationError, DomainError) as exc:
        errors = errors_of(
            exc, {"quantity": "quantity_delta"}, fields=("quantity_delta", "reason", "reference")
        )
        return _record_with_errors(request, posted, sku, location, "adjust", errors)
    return redirect(f"/hq/inventory/{sku}/{location}", notice="Stock adjusted.")


@router.post("/inventory/{sku}/{location}/count", response_model=None)
def count(request: Request, posted: PostedDep, sku: str, location: str) -> Response:
    sku, location = sku.strip().upper(), location.strip().upper()
    data = body_of(CountCreate, posted.values, sku=sku, location=location)
    decided = authorize_as(request, posted.viewer, "POST /inventory/counts", body=data)
    try:
        body = CountCreate.model_validate(data)
        change(
            request,
            decided,
            lambda uow: inventory.count_stock(uow, body, actor=posted.viewer.principal.actor),
        )
    except (ValidationError, DomainError) as exc:
        errors = errors_of(exc, fields=("counted_quantity", "source", "reference"))
        return _record_with_errors(request, posted, sku, location, "count", errors)
    return redirect(f"/hq/inventory/{sku}/{location}", notice="Count booked.")


def _record_with_errors(
    request: Request, posted: Any, sku: str, location: str, form: str, errors: Errors
) -> HTMLResponse:
    return render(
        request,
        "hq/stock.html",
        viewer=posted.viewer,
        status=422,
        sku=sku,
        location=location,
        form=form,
        errors=errors,
        values=posted.values,
        **_record(request, sku, location),
    )


# --- transfers -------------------------------------------------------------------------------

TRANSFER_LINES = 4


def _locations(request: Request) -> list[Any]:
    return read(request, lambda uow: catalog.list_locations(uow))


TRANSFER_PAGE = 25
STATUSES = ["requested", "in_transit", "received", "cancelled"]


@router.get("/transfers", response_model=None)
def transfers(
    request: Request,
    viewer: HqDep,
    status: str = "",
    from_location: str = "",
    to_location: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
    format: str = "",
) -> Response:
    authorize_as(request, viewer, "GET /inventory/transfers")
    page = max(1, page)
    errors: Errors = {}
    filters: dict[str, Any] = {
        "status": status if status in STATUSES else None,
        "from_location": from_location.strip().upper() or None,
        "to_location": to_location.strip().upper() or None,
        "since": day_filter(since, "since", errors),
        "until": day_filter(until, "until", errors, next_day=True),
    }

    def fetch(uow: UnitOfWork, offset: int, limit: int) -> list[Any]:
        return inventory.list_transfers(uow, offset=offset, limit=limit, **filters)

    if format == "csv" and not errors:
        return _transfers_csv(request, fetch)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        found = [] if errors else fetch(uow, (page - 1) * TRANSFER_PAGE, TRANSFER_PAGE + 1)
        codes = [ln.sku for t in found for ln in t.lines]
        return {
            "transfers": found[:TRANSFER_PAGE],
            "more": len(found) > TRANSFER_PAGE,
            "names": catalog.sku_names(uow, codes),
            "locations": catalog.list_locations(uow),
        }

    query = {
        "status": status,
        "from_location": from_location,
        "to_location": to_location,
        "since": since,
        "until": until,
    }
    return render(
        request,
        "hq/transfers.html",
        viewer=viewer,
        status=422 if errors else 200,
        page=page,
        query=query,
        values=query,
        errors=errors,
        statuses=STATUSES,
        csv=csv_link("/hq/transfers", **query),
        **read(request, load),
    )


def _sku_names(codes: list[str], uow: UnitOfWork) -> dict[str, str]:
    return catalog.sku_names(uow, codes)


def _transfers_csv(request: Request, fetch: Any) -> Response:
    def rows() -> Iterator[list[Any]]:
        for t in paged(request, fetch):
            names = read(request, partial(_sku_names, [ln.sku for ln in t.lines]))
            for ln in t.lines:
                yield [
                    t.id, t.status, t.from_location, t.to_location, t.reference,
                    t.requested_by, t.created_at, t.shipped_at, t.received_at,
                    ln.sku, names.get(ln.sku, ""), ln.quantity, ln.received,
                ]  # fmt: skip

    header = [
        "transfer", "status", "from", "to", "reference", "requested_by", "requested_at",
        "shipped_at", "received_at", "sku", "product", "quantity", "received",
    ]  # fmt: skip
    return csv_response("transfers.csv", header, rows())


@router.get("/transfers/new", response_class=HTMLResponse)
def new_transfer(
    request: Request, viewer: HqDep, sku: str = "", from_location: str = ""
) -> HTMLResponse:
    authorize_as(request, viewer, "POST /inventory/transfers")  # the page of that form
    return render(
        request,
        "hq/transfer_new.html",
        viewer=viewer,
        locations=_locations(request),
        line_count=TRANSFER_LINES,
        values={"line0.sku": sku, "from_location": from_location},
    )


@router.post("/transfers", response_model=None)
def request_transfer(request: Request, posted: PostedDep) -> Response:
    values = posted.values
    lines: list[dict[str, Any]] = []
    rename: dict[str, str] = {}
    for i in range(TRANSFER_LINES):
        sku, quantity = values.get(f"line{i}.sku", "").strip(), values.get(f"line{i}.quantity", "")
        if sku or quantity.strip():
            rename[f"lines.{len(lines)}.sku"] = f"line{i}.sku"
            rename[f"lines.{len(lines)}.quantity"] = f"line{i}.quantity"
            lines.append({"sku": sku, "quantity": _int_or_text(quantity)})
    rename["lines"] = "line0.sku"
    data = {
        "from_location": values.get("from_location", ""),
        "to_location": values.get("to_location", ""),
        "reference": values.get("reference", "").strip() or None,
        "lines": lines,
    }
    decided = authorize_as(request, posted.viewer, "POST /inventory/transfers", body=data)
    try:
        body = TransferCreate.model_validate(data)
        done = change(
            request,
            decided,
            lambda uow: inventory.request_transfer(uow, body, actor=posted.viewer.principal.actor),
        )
    except (ValidationError, DomainError) as exc:
        errors = errors_of(exc, rename)
        if isinstance(exc, DomainError) and exc.field == "sku":
            errors = {"line0.sku": exc.detail}
        return render(
            request,
            "hq/transfer_new.html",
            viewer=posted.viewer,
            status=422,
            locations=_locations(request),
            line_count=TRANSFER_LINES,
            errors=errors,
            values=values,
        )
    return redirect(f"/hq/transfers/{done.id}", notice="Transfer requested.")


def _int_or_text(text: str) -> int | str:
    try:
        return int(text.strip())
    except ValueError:
        return text


@router.get("/transfers/{transfer_id}", response_class=HTMLResponse)
def transfer(request: Request, viewer: HqDep, transfer_id: str) -> HTMLResponse:
    params = {"transfer_id": transfer_id}
    authorize_as(request, viewer, "GET /inventory/transfers/{transfer_id}", params)
    found = read(request, lambda uow: inventory.get_transfer(uow, transfer_id))
    return render(
        request, "hq/transfer.html", viewer=viewer, transfer=found, names=_names(request, found)
    )


def _names(request: Request, found: Any) -> dict[str, str]:
    return read(request, lambda uow: catalog.sku_names(uow, [ln.sku for ln in found.lines]))


@router.post("/transfers/{transfer_id}/{action}", response_model=None)
def transfer_action(request: Request, posted: PostedDep, transfer_id: str, action: str) -> Response:
    steps = {
        "ship": inventory.ship_transfer,
        "receive": inventory.receive_transfer,
        "cancel": inventory.cancel_transfer,
    }
    step = steps.get(action)
    if step is None:
        return redirect(f"/hq/transfers/{transfer_id}")
    decided = authorize_as(
        request,
        posted.viewer,
        f"POST /inventory/transfers/{{transfer_id}}/{action}",
        {"transfer_id": transfer_id},
    )
    actor = posted.viewer.principal.actor
    try:
        change(request, decided, lambda uow: step(uow, transfer_id, actor=actor))
    except DomainError as exc:
        found = read(request, lambda uow: inventory.get_transfer(uow, transfer_id))
        return render(
            request,
            "hq/transfer.html",
            viewer=posted.viewer,
            status=exc.status,
            transfer=found,
            names=_names(request, found),
            errors={"__all__": exc.detail},
        )
    return redirect(f"/hq/transfers/{transfer_id}", notice=f"Transfer: {action} done.")
