"""HQ delivery and pickup fees: each channel's fee per fulfilment method (amount entered like
the channel's prices, in its currency; a free-over threshold; a tax class; active or not), set,
changed and deleted. Each form is the API's ``/pricing/fees/{channel}/{method}`` operation,
decided and audited as the API does (``web.deps``)."""

from __future__ import annotations

from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import InvalidRequest
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import FeeMethod, FeeRead, FeeWrite
from omniretail.web.deps import (
    HqDep,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    read,
    redirect,
    render,
    submit,
)
from omniretail.web.forms import Errors, body_of

router = APIRouter(prefix="/hq/pricing", route_class=PageRoute, include_in_schema=False)
PAGE = "/hq/pricing/fees"
METHODS: tuple[str, ...] = get_args(FeeMethod)
FIELDS = ("channel", "method", "name", "amount", "free_over", "tax_class", "active")


def _values(fee: FeeRead) -> dict[str, str]:
    return {
        "channel": fee.channel,
        "method": fee.method,
        "name": fee.name,
        "amount": str(fee.amount),
        "free_over": "" if fee.free_over is None else str(fee.free_over),
        "tax_class": fee.tax_class,
        **({"active": "on"} if fee.active else {}),
    }


def _page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    def load(uow: UnitOfWork) -> dict[str, Any]:
        return {
            "channels": catalog.list_channels(uow),
            "fees": pricing.list_fees(uow),
            "classes": pricing.list_tax_classes(uow),
        }

    context = read(request, load)
    by_channel: dict[str, list[FeeRead]] = {c.code: [] for c in context["channels"]}
    for fee in context["fees"]:
        by_channel.setdefault(fee.channel, []).append(fee)
    if values is None:
        channel, _, method = request.query_params.get("edit", "").partition(":")
        editing = next(
            (f for f in context["fees"] if (f.channel, f.method) == (channel.upper(), method)),
            None,
        )
        values = _values(editing) if editing else {"tax_class": "standard", "active": "on"}
    return render(
        request,
        "hq/fees.html",
        viewer=viewer,
        status=status,
        values=values,
        errors=errors or {},
        by_channel=by_channel,
        methods=METHODS,
        **context,
    )


@router.get("/fees", response_class=HTMLResponse)
def fees_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /pricing/fees")
    return _page(request, viewer)


@router.post("/fees", response_model=None)
def save_fee(request: Request, posted: PostedDep) -> Response:
    """Sets a method's fee on a channel (new or changed): the API's PUT, in the channel's
    currency (read in the same transaction, as the API's body would name it)."""
    values = {name: posted.get(name) for name in FIELDS if name in posted.values}
    channel = posted.get("channel").upper()[:40]
    method = posted.get("method")[:20]
    body = body_of(FeeWrite, values)
    decided = authorize_as(
        request,
        posted.viewer,
        "PUT /pricing/fees/{channel}/{method}",
        {"channel": channel, "method": method},
        body,
    )
    actor = posted.viewer.principal.actor

    def save(uow: UnitOfWork) -> FeeRead:
        if not channel:
            raise InvalidRequest("Choose a channel.", field="channel")
        if method not in METHODS:
            raise InvalidRequest("Choose a fulfilment method.", field="method")
        currency = catalog.channel_settings(uow, channel).currency
        data = FeeWrite.model_validate({**body, "currency": currency})
        return pricing.save_fee(uow, channel, method, data, actor=actor)

    def done(fee: FeeRead) -> Response:
        free = f", free over {fee.free_over}" if fee.free_over is not None else ""
        notice = f"{fee.name} on {fee.channel} ({fee.method}): {fee.amount} {fee.currency}{free}."
        return redirect(PAGE, notice=notice)

    return submit(
        request,
        decided,
        save,
        done=done,
        failed=lambda errors, status: _page(
            request, posted.viewer, values=values, errors=errors, status=status
        ),
    )


@router.post("/fees/{channel}/{method}/delete", response_model=None)
def delete_fee(request: Request, posted: PostedDep, channel: str, method: str) -> Response:
    channel, method = channel.upper()[:40], method[:20]
    decided = authorize_as(
        request,
        posted.viewer,
        "DELETE /pricing/fees/{channel}/{method}",
        {"channel": channel, "method": method},
    )
    change(
        request,
        decided,
        lambda uow: pricing.delete_fee(uow, channel, method, actor=posted.viewer.principal.actor),
    )
    return redirect(PAGE, notice=f"The {method} fee on {channel} is deleted: it is free now.")
