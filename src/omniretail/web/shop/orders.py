"""A signed-in customer's order: its lines, each fulfilment's timeline, the public tracking
page's link, each waiting pickup's code (and its QR code for the counter's scanner: the
owner's alone, not the tracking page's, whose link is shared and forwarded), cancelling
what has not shipped (``POST /orders/{number}/cancel``, through
the same service and the same decision as the API), and its return requests (started in
``returns.py``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from omniretail.api.qr import qr_response
from omniretail.auth import access
from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownChannel
from omniretail.catalog.service import ChannelKind
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import ReturnRequestRead
from omniretail.kernel.errors import DomainError
from omniretail.orders import service as lookup
from omniretail.orders.schemas import CancelBody, OrderRead
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
from omniretail.web.shop.checkout import pickup_places

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MAX_NUMBER = 40  # an order number is a code
# What the customer is told for each logged step (the actor is not shown).
STEPS = {
    "placed": "Order placed",
    "accepted": "Accepted by the store",
    "picking": "Being picked",
    "packed": "Packed",
    "shipped": "On its way",
    "delivered": "Delivered",
    "ready_for_pickup": "Ready to collect",
    "collected": "Collected",
    "cancelled": "Cancelled",
    "rejected": "Moved to another store",
    "returned": "Returned",
    "refund": "Refunded",
    "return_request_cancelled": "Return cancelled",
}
# The steps a till sale goes through at once as it is paid (web.store.till_sale).
HANDED_OVER_AT_THE_TILL = frozenset(
    {"accepted", "picking", "packed", "ready_for_pickup", "collected"}
)


def cancellable_lines(order: OrderRead) -> list[int]:
    """Open lines whose fulfilment may still be cancelled (the service checks again)."""
    steps = {f.id: f.next_steps for f in order.fulfilments}
    return [
        ln.line_no
        for ln in order.lines
        if ln.status == "open" and "cancelled" in steps.get(ln.fulfilment_id or "", [])
    ]


def requestable(order: OrderRead, requests: list[ReturnRequestRead]) -> dict[int, int]:
    """Units of each line the customer may still ask to return (the service checks again)."""
    held: dict[int, int] = {}
    for r in requests:
        if r.status == "open":
            for ln in r.lines:
                held[ln.line_no] = held.get(ln.line_no, 0) + ln.quantity
    left = {ln.line_no: ln.returnable - held.get(ln.line_no, 0) for ln in order.lines if ln.sku}
    return {n: q for n, q in left.items() if q > 0}


def _check_owner(uow: UnitOfWork, viewer: Viewer, number: str) -> None:
    if len(number) > MAX_NUMBER:
        raise NotAllowed("No such order.", status=404)
    owner = lookup.order_customer(uow, number)
    if owner is None or owner.customer_id is None:
        raise NotAllowed("No such order.", status=404)
    if not access.same_person(uow, viewer.principal, owner.customer_id):
        raise NotAllowed("No such order.", status=404)  # not telling others' numbers


def _sold_at_a_till(uow: UnitOfWork, channel: str) -> bool:
    """A till sale is handed over as it is paid: its pick, pack and pickup steps are not news."""
    try:
        return catalog.get_channel(uow, channel).kind == ChannelKind.STORE_POS
    except UnknownChannel:
        return False


def own_order(request: Request, viewer: Viewer, number: str) -> dict[str, Any]:
    def load(uow: UnitOfWork) -> dict[str, Any]:
        _check_owner(uow, viewer, number)
        order = lookup.get_order(uow, number)
        return {
            "order": order,
            "in_store": _sold_at_a_till(uow, order.channel),
            "log": lookup.order_log(uow, number),
            "requests": fulfilment.return_requests_of_order(uow, number),
            "refunds": fulfilment.refunds_of_order(uow, number),
            "places": pickup_places(uow, order),
            "codes": lookup.pickup_codes(uow, number),
        }

    return read(request, load)


def _page(
    request: Request,
    viewer: Viewer,
    number: str,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    loaded = own_order(request, viewer, number)
    order: OrderRead = loaded["order"]
    in_store = loaded["in_store"]
    placed = "Bought in store" if in_store else STEPS["placed"]
    timeline = [{"when": order.placed_at, "what": placed, "fid": None}]
    returns: set[tuple[Any, str | None]] = set()  # one step per return (it logs each line)
    for e in loaded["log"]:
        step = e.to_status or e.action
        if step == "returned" and e.detail.get("return_id"):
            if (e.detail["return_id"], e.fulfilment_id) in returns:
                continue
            returns.add((e.detail["return_id"], e.fulfilment_id))
        if in_store and step in HANDED_OVER_AT_THE_TILL:
            continue
        if step in STEPS:
            timeline.append({"when": e.created_at, "what": STEPS[step], "fid": e.fulfilment_id})
    return render(
        request,
        "shop/order.html",
        viewer=viewer,
        status=status,
        errors=errors or {},
        order=order,
        timeline=timeline,
        cancellable=cancellable_lines(order),
        requests=loaded["requests"],
        requestable=requestable(order, loaded["requests"]),
        refunds=loaded["refunds"],
        places=loaded["places"],
        codes=loaded["codes"],
        in_store=in_store,
    )


@router.get("/account/orders/{number}", response_class=HTMLResponse)
def order_page(request: Request, number: str, viewer: CustomerDep) -> HTMLResponse:
    return _page(request, viewer, number)


@router.get("/account/orders/{number}/pickup/{fid}.{fmt}", response_model=None)
def pickup_qr(
    request: Request, number: str, fid: str, fmt: Literal["svg", "png"], viewer: CustomerDep
) -> Response:
    """The waiting pickup's code as a QR code, for the counter's scanner: its owner's only."""

    def load(uow: UnitOfWork) -> str | None:
        _check_owner(uow, viewer, number)
        return lookup.pickup_codes(uow, number).get(fid)

    code = read(request, load)
    if code is None:
        raise NotAllowed("No pickup code is waiting for this part of the order.", status=404)
    answer = qr_response(f"omniretail:pickup:{number}:{code}", fmt)
    answer.headers.update({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    return answer


@router.post("/account/orders/{number}/cancel", response_model=None)
def cancel(request: Request, number: str, posted: PostedDep) -> Response:
    viewer = customer_viewer(request)
    order: OrderRead = own_order(request, viewer, number)["order"]
    lines = cancellable_lines(order)
    if not lines:
        errors = {"__all__": "Nothing in this order can be cancelled any more: it has shipped."}
        return _page(request, viewer, number, errors=errors, status=409)
    body = CancelBody(line_nos=lines, reason="cancelled by the customer in the shop")
    decided = authorize_as(
        request,
        viewer,
        "POST /orders/{number}/cancel",
        {"number": number},
        body.model_dump(mode="json", exclude_none=True),
    )
    actor = viewer.principal.actor
    try:
        change(request, decided, lambda uow: fulfilment.cancel(uow, number, body, actor=actor))
    except DomainError as exc:
        return _page(request, viewer, number, errors={"__all__": exc.detail}, status=exc.status)
    return redirect(
        f"/account/orders/{number}", notice="Your order is cancelled. The payment is released."
    )
