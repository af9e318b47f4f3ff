"""HTTP routes for marketing messages (under /api/v1) and the public link routes
``/r/<token>`` (tracked click, 302) and ``/u/<token>`` (unsubscribe without signing in)."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Path, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from omniretail.api.deps import ReadDep, UseCaseDep, no_content
from omniretail.marketing import messages as service
from omniretail.marketing.schemas import (
    ClickRead,
    MessageCreate,
    MessageRead,
    MessageUpdate,
    PreviewRequest,
    RenditionRead,
    UnsubscribeRead,
)

router = APIRouter(prefix="/marketing/messages", tags=["marketing"])
links_router = APIRouter(tags=["marketing links"])
CodePath = Annotated[str, Path(min_length=1, max_length=60)]
TokenPath = Annotated[str, Path(min_length=1, max_length=4000)]
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@router.get("", response_model=list[MessageRead])
def list_messages(uow: ReadDep) -> list[MessageRead]:
    return service.list_messages(uow)


@router.post("", status_code=201, response_model=MessageRead)
def create_message(body: MessageCreate, use_case: UseCaseDep) -> MessageRead:
    return use_case.run(lambda uow: service.create_message(uow, body), status_code=201)


@router.get("/{code}", response_model=MessageRead)
def get_message(code: CodePath, uow: ReadDep) -> MessageRead:
    return service.get_message(uow, code)


@router.put("/{code}", response_model=MessageRead)
def update_message(code: CodePath, body: MessageUpdate, use_case: UseCaseDep) -> MessageRead:
    return use_case.run(lambda uow: service.update_message(uow, code, body))


@router.delete("/{code}", status_code=204, response_class=Response)
def delete_message(code: CodePath, use_case: UseCaseDep) -> Response:
    use_case.run(no_content(lambda uow: service.delete_message(uow, code)))
    return Response(status_code=204)


@router.post("/{code}/preview", response_model=RenditionRead)
def preview(code: CodePath, body: PreviewRequest, uow: ReadDep) -> RenditionRead:
    """The message as the chosen customer would receive it on one channel (nothing sent)."""
    return service.render_for(uow, code, body.customer_id, body.channel)


@links_router.get(
    "/r/{token}",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "to the link's target; the click is recorded"}},
)
def follow(token: TokenPath, use_case: UseCaseDep) -> RedirectResponse:
    followed = use_case.run(lambda uow: ClickRead(url=service.follow_link(uow, token)))
    return RedirectResponse(followed.url, status_code=302, headers=NO_STORE)


@links_router.get(
    "/u/{token}", response_class=HTMLResponse, responses={200: {"content": {"text/html": {}}}}
)
def unsubscribe_page(token: TokenPath, uow: ReadDep) -> HTMLResponse:
    _, channel = service.unsubscribe_target(uow, token)
    return _page(
        f"Stop offers by {channel}?",
        f"<p>We will send you no more news and offers by {escape(channel)}. {STILL_SENT}</p>"
        f'<form method="post"><button type="submit">Unsubscribe from {escape(channel)}'
        "</button></form>",
    )


@links_router.post(
    "/u/{token}", response_class=HTMLResponse, responses={200: {"content": {"text/html": {}}}}
)
def unsubscribe(token: TokenPath, use_case: UseCaseDep) -> HTMLResponse:
    channel = use_case.run(
        lambda uow: UnsubscribeRead(channel=service.unsubscribe(uow, token), withdrawn=True)
    ).channel
    return _page(
        "You are unsubscribed",
        f"<p>We will send no more offers by {escape(channel)}. {STILL_SENT}</p>"
        f'<p><a href="{CHOICES}">See or change all your choices</a> (after signing in).</p>',
    )


STILL_SENT = "Messages about your orders, pickups and returns still come."
CHOICES = "/account/privacy"


def _page(title: str, content: str) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="/static/app.css"></head>'
        f'<body><main><section class="card narrow"><h1>{escape(title)}</h1>{content}</section>'
        "</main></body></html>"
    )
    return HTMLResponse(html, headers=NO_STORE)
