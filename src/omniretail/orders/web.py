"""The public tracking page: server-rendered HTML (mobile first) and JSON at the same URL.

Reached only by the unguessable link in every notification (``/track/<token>``); it shows each
fulfilment's state, the pickup code when ready, the pickup location's address and hours and
the carrier's tracking number. ``Accept: application/json`` answers with the same data.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from omniretail.api.deps import ReadDep
from omniretail.orders import lookup
from omniretail.orders.api import qr_response
from omniretail.orders.errors import UnknownOrder
from omniretail.orders.schemas import TrackingRead

router = APIRouter(tags=["tracking"])


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("omniretail.orders", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",)),
        undefined=StrictUndefined,
    )


@router.get(
    "/track/{token}",
    response_model=TrackingRead,
    responses={200: {"content": {"text/html": {}}}},
)
def track(token: str, request: Request, uow: ReadDep) -> Response | TrackingRead:
    order = lookup.tracking_read(uow, token)
    if "application/json" in request.headers.get("accept", ""):
        return order
    html = (
        environment()
        .get_template("orders/tracking.html")
        .render(order=order, qr_base=f"/track/{token}")
    )
    return HTMLResponse(
        html, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


@router.get("/track/{token}/pickup/{index}.{fmt}")
def pickup_qr(token: str, index: int, fmt: Literal["svg", "png"], uow: ReadDep) -> Response:
    """The pickup code as a QR code, for the counter's scanner."""
    order = lookup.tracking_read(uow, token)
    if not 0 <= index < len(order.fulfilments) or order.fulfilments[index].pickup_code is None:
        raise UnknownOrder("no pickup code is ready for this part of the order", field="index")
    return qr_response(
        f"omniretail:pickup:{order.number}:{order.fulfilments[index].pickup_code}", fmt
    )
