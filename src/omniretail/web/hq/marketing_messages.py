"""HQ marketing messages: the list, a new message, the editor and its previews per channel for
a chosen customer (HTMX swaps the preview in). Decided as the API's
``/marketing/messages`` routes (``marketing:read`` / ``marketing:write``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.kernel.errors import DomainError
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import MessageCreate, MessageUpdate, PreviewRequest
from omniretail.web.deps import (
    HqDep,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    read,
    redirect,
    render,
    submit,
)
from omniretail.web.forms import Errors, errors_of

router = APIRouter(prefix="/hq/marketing", route_class=PageRoute, include_in_schema=False)
FIELDS = ("name", "subject", "body", "link_url", "link_label", "image_url")
CHANNELS = ("email", "sms", "push", "inbox", "store", "receipt")
# The email preview's frame: no script, nothing fetched but images, only in this site's frames.
EMAIL_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; sandbox"


def _body(values: dict[str, str]) -> dict[str, Any]:
    return {k: values.get(k, "").strip() or None for k in FIELDS}


def _list(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "hq/marketing_messages.html",
        viewer=viewer,
        status=status,
        messages=read(request, marketing.list_messages),
        message=None,
        values=values or {},
        errors=errors or {},
    )


@router.get("/messages", response_class=HTMLResponse)
def messages_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /marketing/messages")
    return _list(request, viewer)


@router.post("/messages", response_model=None)
def create_message(request: Request, posted: PostedDep) -> Response:
    body = {"code": posted.values.get("code", "").strip(), **_body(posted.values)}
    decided = authorize_as(request, posted.viewer, "POST /marketing/messages", None, body)
    return submit(
        request,
        decided,
        lambda uow: marketing.create_message(uow, MessageCreate.model_validate(body)),
        done=lambda made: redirect(
            f"/hq/marketing/messages/{made.code}", notice=f"Message {made.code} created."
        ),
        failed=lambda errors, status: _list(
            request, posted.viewer, values=posted.values, errors=errors, status=status
        ),
    )


def _editor(
    request: Request,
    viewer: Viewer,
    code: str,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    message = read(request, lambda uow: marketing.get_message(uow, code))
    current = {k: str(getattr(message, k) or "") for k in FIELDS}
    return render(
        request,
        "hq/marketing_message.html",
        viewer=viewer,
        status=status,
        message=message,
        values=values or current,
        errors=errors or {},
        channels=CHANNELS,
    )


@router.get("/messages/{code}", response_class=HTMLResponse)
def message_page(request: Request, viewer: HqDep, code: str) -> HTMLResponse:
    code = code[:60]
    authorize_as(request, viewer, "GET /marketing/messages/{code}", {"code": code})
    return _editor(request, viewer, code)


@router.post("/messages/{code}", response_model=None)
def save_message(request: Request, posted: PostedDep, code: str) -> Response:
    code = code[:60]
    body = _body(posted.values)
    decided = authorize_as(
        request, posted.viewer, "PUT /marketing/messages/{code}", {"code": code}, body
    )
    return submit(
        request,
        decided,
        lambda uow: marketing.update_message(uow, code, MessageUpdate.model_validate(body)),
        done=lambda _: redirect(f"/hq/marketing/messages/{code}", notice="Message saved."),
        failed=lambda errors, status: _editor(
            request, posted.viewer, code, values=posted.values, errors=errors, status=status
        ),
    )


@router.get("/messages/{code}/preview", response_class=HTMLResponse)
def preview(request: Request, viewer: HqDep, code: str) -> HTMLResponse:
    """The preview fragment (HTMX) for ``?customer_id=&channel=``; read-only."""
    code = code[:60]
    authorize_as(request, viewer, "POST /marketing/messages/{code}/preview", {"code": code})
    query = {k: request.query_params.get(k, "")[:20] for k in ("customer_id", "channel")}
    try:
        asked = PreviewRequest.model_validate(query)
        rendition = read(
            request, lambda uow: marketing.render_for(uow, code, asked.customer_id, asked.channel)
        )
    except (ValidationError, DomainError) as exc:
        return render(
            request,
            "hq/_marketing_preview.html",
            viewer=viewer,
            errors=errors_of(exc),
            rendition=None,
            status=getattr(exc, "status", 422),
        )
    return render(
        request,
        "hq/_marketing_preview.html",
        viewer=viewer,
        rendition=rendition,
        email_csp=EMAIL_CSP,
    )
