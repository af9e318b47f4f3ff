"""The chat widget's first message from a signed-in customer: the chat starts linked to their
profile (``POST /customers/{customer_id}/support/chats``), so the assistant answers about their
own orders and points without asking them to sign in; answered with the chat and its token as
JSON, as the API would. Later messages go to the token's API like an anonymous chat's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from omniretail.kernel.errors import InvalidRequest
from omniretail.support import service as support
from omniretail.support.schemas import ChatStart
from omniretail.web.deps import PageRoute, PostedDep, authorize_as, change, customer_viewer

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.post("/shop/chat", response_model=None)
def start_my_chat(request: Request, posted: PostedDep) -> JSONResponse:
    viewer = customer_viewer(request)
    customer_id = viewer.principal.customer_id
    assert customer_id is not None
    fields = ("message", "order_number", "page")
    try:
        body = ChatStart.model_validate({k: posted.values[k] for k in fields if posted.get(k)})
    except ValidationError as exc:
        raise InvalidRequest("the message is empty or too long", field="message") from exc
    decided = authorize_as(
        request,
        viewer,
        "POST /customers/{customer_id}/support/chats",
        {"customer_id": customer_id},
        body.model_dump(),
    )
    assistant: Any = request.app.state.assistant()
    started = change(
        request,
        decided,
        lambda uow: support.start_chat(uow, body, customer_id=customer_id, assistant=assistant),
    )
    return JSONResponse(started.model_dump(mode="json"), status_code=201)
