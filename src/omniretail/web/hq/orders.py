"""HQ orders: the list (newest first, by state or channel), and one order with its
fulfilments, the fulfilment timeline (the order log) and the actions its states allow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.orders import service as lookup
from omniretail.orders.service import OrderStatus
from omniretail.web import steps
from omniretail.web.deps import (
    HqDep,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    read,
    redirect,
    render,
)
from omniretail.web.forms import Errors
from omniretail.web.hq.export import csv_link, csv_response, paged

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
PAGE = 25


@router.get("/orders", response_class=HTMLResponse)
def list_orders(
    request: Request,
    viewer: HqDep,
    status: str = "",
    channel: str = "",
    number: str = "",
    page: int = 1,
    format: str = "",
) -> Response:
    authorize_as(request, viewer, "GET /orders")
    if number.strip():
        return redirect(f"/hq/orders/{number.strip().upper()}")
    page = max(1, page)
    if format == "csv":
        return _orders_csv(request, status or None, channel.strip().upper() or None)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        found = lookup.recent_orders(
            uow,
            status=status or None,
            channel=channel.strip().upper() or None,
            limit=PAGE + 1,
            offset=(page - 1) * PAGE,
        )
        return {
            "orders": found[:PAGE],
            "more": len(found) > PAGE,
            "channels": catalog.list_channels(uow),
        }

    return render(
        request,
        "hq/orders.html",
        viewer=viewer,
        state=status,
        channel=channel,
        page=page,
        statuses=[s.value for s in OrderStatus],
        csv=csv_link("/hq/orders", status=status, channel=channel),
        **read(request, load),
    )


def _orders_csv(request: Request, status: str | None, channel: str | None) -> Response:
    def fetch(uow: UnitOfWork, offset: int, limit: int) -> list[Any]:
        return lookup.order_summaries(
            uow, status=status, channel=channel, limit=limit, offset=offset
        )

    return csv_response(
        "orders.csv",
        ["number", "placed_at", "channel", "status", "total", "currency", "fulfilments"],
        (
            [
                o.number,
                o.placed_at,
                o.channel,
                o.status,
                o.total,
                o.currency,
                "; ".join(f"{f.method} @ {f.location} ({f.status})" for f in o.fulfilments),
            ]
            for o in paged(request, fetch, page=200)
        ),
    )


def _order_page(
    request: Request,
    viewer: Viewer,
    number: str,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    target: str = "",
    status: int = 200,
) -> HTMLResponse:
    def load(uow: UnitOfWork) -> dict[str, Any]:
        return {"order": lookup.get_order(uow, number), "log": lookup.order_log(uow, number)}

    return render(
        request,
        "hq/order.html",
        viewer=viewer,
        status=status,
        errors=errors or {},
        values=values or {},
        target=target,
        **read(request, load),
    )


@router.get("/orders/{number}", response_class=HTMLResponse)
def order(request: Request, viewer: HqDep, number: str) -> HTMLResponse:
    number = number.strip().upper()
    authorize_as(request, viewer, "GET /orders/{number}", {"number": number})
    return _order_page(request, viewer, number)


@router.post("/orders/{number}/fulfilments/{fid}/{step}", response_model=None)
def fulfilment_step(
    request: Request, posted: PostedDep, number: str, fid: str, step: str
) -> Response:
    decided, body = steps.authorize_step(request, posted.viewer, fid, step, posted.values)
    _done, errors = steps.run_step(request, decided, body)
    if errors:
        return _order_page(
            request,
            posted.viewer,
            number,
            errors=errors,
            values=posted.values,
            target=f"{fid}:{step}",
            status=422,
        )
    return redirect(f"/hq/orders/{number}", notice=f"Fulfilment: {step} done.")


@router.post("/orders/{number}/cancel", response_model=None)
def cancel(request: Request, posted: PostedDep, number: str) -> Response:
    _done, errors = steps.cancel_order(request, posted.viewer, number, posted.values)
    if errors:
        return _order_page(
            request,
            posted.viewer,
            number,
            errors=errors,
            values=posted.values,
            target="cancel",
            status=422,
        )
    return redirect(f"/hq/orders/{number}", notice="Order cancelled.")
