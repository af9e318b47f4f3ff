"""Sign-in, sign-out and changing one's password: staff by username, customers by the email
of their profile, through the same throttled check as the API (``auth.sign_in``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from omniretail.auth import password_reset as resets
from omniretail.auth import service as auth
from omniretail.auth import sign_in as sign_ins
from omniretail.auth.errors import InvalidCredentials, PasswordResetThrottled, SignInThrottled
from omniretail.kernel.errors import DomainError
from omniretail.kernel.vault import vault_for
from omniretail.web import session
from omniretail.web.deps import (
    MaybeViewerDep,
    PageRoute,
    PostedDep,
    ViewerDep,
    authorize_as,
    home_of,
    redirect,
    render,
)

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
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return _presession_form(
        request,
        "signin.html",
        values={"username": username},
        errors=errors,
        status=status,
        headers=headers,
        next=next or "",
    )


def _presession_form(
    request: Request,
    template: str,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A public form (sign-in, forgot password) with the pre-session CSRF token."""
    container = session.container_of(request)
    value = session.presession_value(request)
    response = render(
        request,
        template,
        status=status,
        headers=headers,
        values=values,
        errors=errors or {},
        signin_csrf=session.csrf_for(container, value),
        **context,
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
    if not _csrf_ok(request, csrf_token):
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
        principal = sign_ins.sign_in(
            container.uow,
            container.read_uow,
            username.strip(),
            password,
            vault=vault_for(container.keyring),
            throttle=sign_ins.Throttle.from_settings(container.settings, container.keyring),
            address=request.client.host if request.client else None,
        )
    except SignInThrottled as exc:
        seconds = str(exc.extra.get("retry_after", 1))
        return _form(
            request,
            next=_safe_next(next),
            username=username,
            errors={"__all__": f"Too many failed sign-ins. Try again in {seconds} seconds."},
            status=429,
            headers={"Retry-After": seconds},
        )
    except InvalidCredentials as exc:
        return _form(
            request,
            next=_safe_next(next),
            username=username,
            errors={"password": exc.detail},
            status=401,
        )
    signer = session.signer(container)
    response = redirect(_safe_next(next) or home_of(principal.role))
    session.start_session(
        response, request, signer.issue(principal, container.clock.now()), signer.ttl_seconds
    )
    return response


@router.post("/signout")
def signout(request: Request, posted: PostedDep) -> RedirectResponse:
    authorize_as(request, posted.viewer, "POST /console/signout")
    container = session.container_of(request)
    with container.uow() as uow:
        auth.sign_out(uow, posted.viewer.principal, container.clock.now())
    response = redirect("/signin", notice="You are signed out.")
    session.end_session(response)
    return response


@router.get("/password", response_class=HTMLResponse)
def password_form(request: Request, viewer: ViewerDep) -> Response:
    return render(request, "password.html", viewer=viewer)


@router.post("/password", response_model=None)
def change_password(request: Request, posted: PostedDep) -> Response:
    """Every signed-in person changes their own password; every other session ends, this
    one continues with a fresh token."""
    authorize_as(request, posted.viewer, "POST /auth/password")
    container = session.container_of(request)
    errors: dict[str, str] = {}
    current, new = posted.values.get("current_password", ""), posted.values.get("new_password", "")
    if new != posted.values.get("confirm_password", ""):
        errors["confirm_password"] = "The two new passwords differ."
    if not current:
        errors["current_password"] = "Enter your current password."
    status, headers = 422, None
    if not errors:
        try:
            principal = sign_ins.change_password(
                container.uow,
                container.read_uow,
                posted.viewer.principal.id,
                current,
                new,
                throttle=sign_ins.Throttle.from_settings(container.settings, container.keyring),
            )
        except SignInThrottled as exc:
            headers = {"Retry-After": str(exc.extra.get("retry_after", 1))}
            errors["__all__"], status = exc.detail, exc.status
        except DomainError as exc:
            field = exc.field or ""
            errors[field if field in FIELDS else "__all__"] = exc.detail
            status = exc.status
        else:
            signer = session.signer(container)
            token = signer.issue(principal, container.clock.now())
            response = redirect(home_of(principal.role), notice="Your password is changed.")
            session.start_session(response, request, token, signer.ttl_seconds)
            return response
    return render(
        request,
        "password.html",
        viewer=posted.viewer,
        errors=errors,
        status=status,
        headers=headers,
    )


FIELDS = ("current_password", "new_password", "confirm_password")


# --- forgot password (customers): the same steps as POST /auth/password-reset/request and
# POST /auth/password-reset, public, with the sign-in form's pre-session CSRF token.

FORM_EXPIRED = "The form expired. Please try again."


def _public_form(
    request: Request,
    template: str,
    *,
    email: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    return _presession_form(
        request,
        template,
        values={"email": email},
        errors=errors,
        status=status,
        headers=headers,
        **context,
    )


def _csrf_ok(request: Request, sent: str) -> bool:
    container = session.container_of(request)
    return session.csrf_matches(container, request.cookies.get(session.PRESESSION_COOKIE), sent)


@router.get("/signin/forgot", response_class=HTMLResponse)
def forgot_form(request: Request) -> Response:
    return _public_form(request, "forgot.html")


@router.post("/signin/forgot")  # as POST /auth/password-reset/request: public
def forgot(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not _csrf_ok(request, csrf_token):
        return _public_form(
            request, "forgot.html", email=email, errors={"__all__": FORM_EXPIRED}, status=403
        )
    if len(email.strip()) < 3:
        errors = {"email": "Enter your email address."}
        return _public_form(request, "forgot.html", email=email, errors=errors, status=422)
    container = session.container_of(request)
    policy = resets.ResetPolicy.from_settings(container.settings)
    try:
        with container.uow() as uow:
            resets.request_reset(
                uow,
                email.strip(),
                request.client.host if request.client else None,
                vault=vault_for(container.keyring),
                throttle=resets.throttle_for(container.settings, container.keyring),
            )
    except PasswordResetThrottled as exc:
        seconds = str(exc.extra.get("retry_after", 1))
        return _public_form(
            request,
            "forgot.html",
            email=email,
            errors={"__all__": f"Too many requests. Try again in {seconds} seconds."},
            status=429,
            headers={"Retry-After": seconds},
        )
    return _public_form(
        request, "reset.html", email=email.strip(), sent=True, minutes=policy.ttl_seconds // 60
    )


@router.get("/signin/reset", response_class=HTMLResponse)
def reset_form(request: Request) -> Response:
    return _public_form(request, "reset.html")


@router.post("/signin/reset")  # as POST /auth/password-reset: public, the code is the credential
def reset(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    new_password: Annotated[str, Form(max_length=200)] = "",
    confirm_password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not _csrf_ok(request, csrf_token):
        return _public_form(
            request, "reset.html", email=email, errors={"__all__": FORM_EXPIRED}, status=403
        )
    errors: dict[str, str] = {}
    if len(email.strip()) < 3:
        errors["email"] = "Enter your email address."
    if not code.strip():
        errors["code"] = "Enter the code from the email."
    if new_password != confirm_password:
        errors["confirm_password"] = "The two new passwords differ."
    status = 422
    if not errors:
        container = session.container_of(request)
        try:
            resets.redeem_code(
                container.uow,
                email.strip(),
                code,
                new_password,
                vault=vault_for(container.keyring),
                hasher=resets.ResetCodeHasher(container.keyring),
                policy=resets.ResetPolicy.from_settings(container.settings),
            )
        except DomainError as exc:
            field = exc.field or ""
            errors[field if field in RESET_FIELDS else "__all__"] = exc.detail
            status = exc.status
        else:
            return redirect("/signin", notice="Your password is changed. Sign in with it.")
    return _public_form(request, "reset.html", email=email, errors=errors, status=status)


RESET_FIELDS = ("email", "code", "new_password", "confirm_password")
