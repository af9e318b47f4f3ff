"""The public satisfaction survey (``support.surveys``): the link sent after a conversation
is resolved is the credential, as the tracking link is; no sign-in, nothing about the
conversation shown but its reference."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from omniretail.kernel.errors import DomainError
from omniretail.support import service as support
from omniretail.web.deps import PageRoute, read, render
from omniretail.web.session import container_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Token = Annotated[str, Form(max_length=100)]


@router.get("/survey/{token}", response_class=HTMLResponse)
def survey_page(request: Request, token: str) -> HTMLResponse:
    view = read(request, lambda uow: support.survey_by_token(uow, token[:100]))
    return render(request, "survey.html", survey=view, token=token, thanks=False)


@router.post("/survey/{token}", response_class=HTMLResponse)
def answer(
    request: Request,
    token: str,
    rating: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    try:
        with container_of(request).uow() as uow:
            view = support.answer_survey(uow, token[:100], rating, comment)
    except DomainError as exc:
        return render(request, "error.html", status=exc.status, title=exc.title, message=exc.detail)
    return render(request, "survey.html", survey=view, token=token, thanks=True)
