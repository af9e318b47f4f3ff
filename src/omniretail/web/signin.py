"""Sign-in and sign-out: staff by username, customers by the email of their profile, with
the platform's own credentials check (``auth.service.sign_in``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from omniretail.auth import service as auth
from omniretail.auth.errors import InvalidCredentials
from omniretail.customers.crypto import vault_for
from omniretail.web import session
from omniretail.web.deps import MaybeViewerDep, PageRoute, PostedDep, authorize_as, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never ``//other.site`` or a full URL)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/")
def home(viewer: MaybeViewerDep) -> RedirectResponse:
    return redirect(viewer.home if viewer else "/signin")


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, viewer: MaybeViewerDep, next: str | None = None) -> Response:
    if viewer is not None and next is None:
        return redirect(viewer.home)
    return _form(request, next=_safe_next(next))


def _form(
    request: Request,
    *,
    next: str | None,
    username: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    container = session.container_of(request)
    value = session.presession_value(request)
    response = render(
        request,
        "signin.html",
        status=status,
        next=next or "",
        values={"username": username},
        errors=errors or {},
        signin_csrf=session.csrf_for(container, value),
    )
    session.remember_presession(response, request, value)
    return response


@router.post("/signin")  # as POST /auth/token: public, nothing to decide
def signin(
    request: Request,
    username: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    container = session.container_of(request)
    presession = request.cookies.get(session.PRESESSION_COOKIE)
    if not session.csrf_matches(container, presession, csrf_token):
        return _form(
            request,
            next=_safe_next(next),
            username=username,
            errors={"__all__": "The sign-in form expired. Please try again."},
            status=403,
        )
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = "Enter your username or email address."
    if not password:
        errors["password"] = "Enter your password."
    if errors:
        return _form(request, next=_safe_next(next), username=username, errors=errors, status=422)
    try:
        with container.read_uow() as uow:
            principal = auth.sign_in(
                uow, username.strip(), password, vault=vault_for(container.keyring)
            )
            signer = session.signer(container)
            token = signer.issue(principal, uow.now)
    except InvalidCredentials as exc:
        return _form(
            request,
            next=_safe_next(next),
            username=username,
            errors={"password": exc.detail},
            status=401,
        )
    from omniretail.web.deps import home_of

    response = redirect(_safe_next(next) or home_of(principal.role))
    session.start_session(response, request, token, signer.ttl_seconds)
    return response


@router.post("/signout")
def signout(request: Request, posted: PostedDep) -> RedirectResponse:
    authorize_as(request, posted.viewer, "POST /console/signout")
    response = redirect("/signin", notice="You are signed out.")
    session.end_session(response)
    return response
