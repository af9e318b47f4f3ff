"""The public tracking page: server-rendered HTML (mobile first) and JSON at the same URL.

Reached only by the unguessable link in every notification (``/track/<token>``); it shows each
fulfilment's state, the pickup location's address and hours and the carrier's tracking number.
``Accept: application/json`` answers with the same data. It never shows the pickup code (nor a
QR code of it): the link is forwarded, pasted into chats, and staff see it on the order; the
code reaches the customer in their own emails and on the order in their account
(``web.shop.orders``, which also serves its QR code).
"""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from omniretail.api.deps import ReplicaReadDep, UseCaseDep
from omniretail.api.params import IndexPath, KeyPath
from omniretail.fulfilment import curbside
from omniretail.kernel.errors import InvalidRequest
from omniretail.kernel.limits import loads_json
from omniretail.kernel.money import format_money
from omniretail.orders import service as orders
from omniretail.orders.errors import UnknownOrder
from omniretail.orders.schemas import TrackingRead

router = APIRouter(tags=["tracking"])
# Every answer carries the customer's order: kept by no cache.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("omniretail.fulfilment", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",)),
        undefined=StrictUndefined,
        auto_reload=False,  # templates ship in the package: no stat of their files per render
    )
    env.filters["money"] = format_money  # £12.50, as the shop shows it
    return env


@router.get(
    "/track/{token}",
    response_model=TrackingRead,
    # An unknown link: a page for a browser, the problem for ``Accept: application/json``.
    responses={200: {"content": {"text/html": {}}}, 404: {"content": {"text/html": {}}}},
)
def track(
    token: KeyPath, request: Request, response: Response, uow: ReplicaReadDep
) -> Response | TrackingRead:
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        order = orders.tracking_read(uow, token)
    except UnknownOrder:
        if wants_json:
            raise
        page = environment().get_template("orders/tracking_unknown.html").render()
        return HTMLResponse(page, status_code=404, headers=PRIVATE)
    if wants_json:
        response.headers.update(PRIVATE)
        return order
    html = (
        environment()
        .get_template("orders/tracking.html")
        .render(order=order, base=f"/track/{token}")
    )
    return HTMLResponse(html, headers=PRIVATE)


@router.post("/track/{token}/pickup/{index}/arrived", response_model=TrackingRead)
async def curbside_arrived(
    token: KeyPath, index: IndexPath, request: Request, response: Response, use_case: UseCaseDep
) -> Response | TrackingRead:
    """Curbside "I'm here": JSON ``{bay?, vehicle?}`` answers with the tracking data; the
    tracking page's form is sent back to the page."""
    form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    if form:
        raw: dict[str, object] = {k: v for k, v in (await request.form()).items() if v}
    else:
        try:
            sent = await request.body()
            raw = loads_json(sent) if sent else {}
        except ValueError as exc:
            raise InvalidRequest("the body is not JSON", field="body") from exc
    try:
        body = curbside.ArrivalBody.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRequest(
            first["msg"], field=".".join(str(p) for p in first["loc"]) or None
        ) from exc
    read = await run_in_threadpool(
        use_case.run,
        lambda uow: curbside.announce_arrival(uow, token, index, body),
        remember=False,  # the answer carries the customer's order
    )
    if form:
        return RedirectResponse(f"/track/{token}", status_code=303)
    response.headers.update(PRIVATE)
    return read
