"""HQ message log: every notification the platform sent or tried to send (email, SMS, push),
filtered by channel, state, customer, kind and date, and one message in full (an email's
HTML in a sandboxed frame). Decided as ``GET /notifications/messages`` (``messages:read``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.notifications import service as notifications
from omniretail.notifications.models import Channel
from omniretail.notifications.schemas import MessageQuery, MessageState
from omniretail.web.deps import HqDep, PageRoute, authorize_as, read, render
from omniretail.web.forms import errors_of

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
PAGE = 25
FILTERS = ("channel", "state", "customer_id", "kind", "since", "until")
# The email's own page: no script, nothing fetched, shown only in a frame of this site.
EMAIL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'self'"
)


def _query(values: dict[str, str], page: int) -> MessageQuery:
    """The filters as the API's query; the dates are days (UTC), ``until`` included."""
    data: dict[str, Any] = {k: v for k, v in values.items() if k in FILTERS and v}
    for name, extra in (("since", 0), ("until", 1)):
        if name in data:
            try:
                day = date.fromisoformat(data[name])
            except ValueError:
                continue  # the schema says what is wrong with it
            data[name] = datetime.combine(day + timedelta(days=extra), time(), UTC)
    return MessageQuery.model_validate({**data, "offset": (page - 1) * PAGE, "limit": PAGE})


@router.get("/messages", response_class=HTMLResponse)
def message_log(request: Request, viewer: HqDep, page: int = 1) -> HTMLResponse:
    authorize_as(request, viewer, "GET /notifications/messages")
    page = max(1, min(page, 10_000))
    values = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    context: dict[str, Any] = {"messages": [], "more": False, "errors": {}}
    status = 200
    try:
        query = _query(values, page)
    except ValidationError as exc:
        context["errors"], status = errors_of(exc, fields=FILTERS), 422
    else:
        found = read(request, lambda uow: notifications.list_messages(uow, query))
        context.update(messages=found.items, more=found.more)
    filters = urlencode({k: v for k, v in values.items() if v})
    return render(
        request,
        "hq/messages.html",
        viewer=viewer,
        status=status,
        values=values,
        page=page,
        filters=filters,
        channels=[
            (c.value, c.value.upper() if c is Channel.SMS else c.value.title()) for c in Channel
        ],
        states=[(s.value, s.value.title()) for s in MessageState],
        kinds=[(k, k.replace("_", " ").capitalize()) for k in notifications.KINDS],
        **context,
    )


@router.get("/messages/{message_id}", response_class=HTMLResponse)
def message_page(request: Request, viewer: HqDep, message_id: int) -> HTMLResponse:
    authorize_as(
        request, viewer, "GET /notifications/messages/{message_id}", {"message_id": message_id}
    )
    message = read(request, lambda uow: notifications.get_message(uow, message_id))
    return render(request, "hq/message.html", viewer=viewer, message=message)


@router.get("/messages/{message_id}/email.html", response_model=None)
def email_html(request: Request, viewer: HqDep, message_id: int) -> Response:
    """The email's HTML as sent, for the sandboxed frame of the message page."""
    authorize_as(
        request, viewer, "GET /notifications/messages/{message_id}", {"message_id": message_id}
    )
    message = read(request, lambda uow: notifications.get_message(uow, message_id))
    if message.html_body is None:
        return Response(status_code=404)
    return HTMLResponse(
        message.html_body,
        headers={
            "Content-Security-Policy": EMAIL_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store",
        },
    )
