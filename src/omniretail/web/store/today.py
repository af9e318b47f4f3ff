"""The store's work for today: choosing a store (administrators), the board of what to
accept, prepare, expect and hand over, each order's fulfilments with the steps this store
performs, and the handover with the pickup code."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from omniretail.catalog import service as catalog
from omniretail.orders import service as access
from omniretail.orders import service as lookup
from omniretail.orders.errors import UnknownOrder
from omniretail.orders.schemas import OrderRead
from omniretail.web import steps
from omniretail.web.deps import (
    NotAllowed,
    PageRoute,
    PostedDep,
    authorize_as,
    current_viewer,
    read,
    redirect,
    render,
)
from omniretail.web.session import STORE_COOKIE
from omniretail.web.store.deps import Shop, ShopDep, fulfilments_here, shop_of

router = APIRouter(prefix="/store", route_class=PageRoute, include_in_schema=False)


@router.get("/choose", response_class=HTMLResponse)
def choose(request: Request) -> HTMLResponse:
    viewer = current_viewer(request)
    authorize_as(request, viewer, "POST /console/store/choose")  # the page of that form
    stores = read(request, lambda uow: catalog.list_locations(uow, "store"))
    return render(request, "store/choose.html", viewer=viewer, stores=stores)


@router.post("/choose", response_model=None)
def chosen(request: Request, posted: PostedDep) -> Response:
    authorize_as(request, posted.viewer, "POST /console/store/choose")
    code = posted.get("store").upper()
    read(request, lambda uow: catalog.get_location(uow, code))
    response = redirect("/store")
    secure = request.url.scheme == "https"
    response.set_cookie(STORE_COOKIE, code, httponly=True, samesite="lax", secure=secure, path="/")
    return response


# --- today's work ----------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def today(request: Request, s: ShopDep) -> HTMLResponse:
    orders = read(request, lambda uow: lookup.orders_for_location(uow, s.store, limit=100))
    lanes: dict[str, list[tuple[OrderRead, Any]]] = {
        "to_accept": [],
        "to_prepare": [],
        "arriving": [],
        "waiting": [],
    }
    for order in orders:
        for f in fulfilments_here(order, s.store):
            lane = _lane(f, s.store)
            if lane is not None:
                lanes[lane].append((order, f))
    return render(request, "store/today.html", viewer=s.viewer, shop=s, lanes=lanes)


def _lane(f: Any, store: str) -> str | None:
    """Where a fulfilment shows on the store's board (presentation only)."""
    if f.status == "ready_for_pickup" and f.pickup_location == store:
        return "waiting"
    if f.status == "shipped" and f.pickup_location == store and f.location != store:
        return "arriving"
    if f.location != store:
        return None
    if f.status == "created":
        return "to_accept"
    if f.status in ("accepted", "picking", "packed"):
        return "to_prepare"
    return None


def _store_order(request: Request, s: Shop, number: str) -> OrderRead:
    order = read(request, lambda uow: lookup.get_order(uow, number))
    if not fulfilments_here(order, s.store):
        raise UnknownOrder(f"order {number} has nothing to do at {s.store}", field="number")
    return order


@router.get("/orders/{number}", response_class=HTMLResponse)
def store_order(request: Request, s: ShopDep, number: str) -> HTMLResponse:
    order = _store_order(request, s, number.strip().upper())
    return render(
        request,
        "store/order.html",
        viewer=s.viewer,
        shop=s,
        order=order,
        here=fulfilments_here(order, s.store),
    )


@router.get("/open", response_model=None)
def open_order(request: Request, s: ShopDep, number: str = "") -> Response:
    return redirect(f"/store/orders/{number.strip().upper()}" if number.strip() else "/store")


@router.post("/orders/{number}/fulfilments/{fid}/{step}", response_model=None)
def store_step(request: Request, posted: PostedDep, number: str, fid: str, step: str) -> Response:
    decided, body = steps.authorize_step(request, posted.viewer, fid, step, posted.values)
    s = shop_of(request, posted.viewer)
    order = _store_order(request, s, number)
    f = next((f for f in fulfilments_here(order, s.store) if f.id == fid), None)
    if f is None:
        raise NotAllowed(f"This fulfilment is not served at {s.store}.")
    acting = access.FulfilmentSites(f.method, f.location, f.pickup_location).acting(step)
    if s.store not in acting:
        raise NotAllowed(f"This step ({step}) is done at {' or '.join(sorted(acting))}.")
    _done, errors = steps.run_step(request, decided, body)
    if errors:
        order = _store_order(request, s, number)
        return render(
            request,
            "store/order.html",
            viewer=s.viewer,
            shop=s,
            order=order,
            here=fulfilments_here(order, s.store),
            errors=errors,
            values=posted.values,
            target=f"{fid}:{step}",
            status=422,
        )
    ready = (
        "Ready for pickup: the customer is sent the pickup code by email."
        if order.contact_email
        else "Ready for pickup. No email for this order: tell the customer yourself."
    )
    notice = {  # in the buttons' words (it read "Done: pick.")
        "accept": "Accepted.",
        "pick": "Picking started.",
        "pack": "Packed.",
        "ready": ready,
        "ship": "Shipped.",
        "deliver": "Delivered.",
        "collect": "Handed over. Thank you!",
        "reject": "Rejected: the order is re-routed.",
    }.get(step, "Done.")
    return redirect(f"/store/orders/{number}", notice=notice)
