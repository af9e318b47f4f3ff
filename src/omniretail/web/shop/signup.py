"""Signing up in the shop (``auth.sign_up``): a public form, then the code emailed to the
address. Every email gets the same answer, no sooner than ``sign_up_answer_seconds`` after
the request (a new email's profile takes longer to make than an existing one's notice); the
sign-up waiting for its code is named by an encrypted cookie of one length (a decoy one when
nothing was created), and its code page and new codes answer as late, so they behave the
same too.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Annotated

from cryptography.fernet import Fernet, InvalidToken
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from omniretail.auth import sign_up
from omniretail.auth.errors import PasswordResetThrottled
from omniretail.customers import service as customers
from omniretail.customers.errors import VerificationRateLimited
from omniretail.customers.service import CodePolicy
from omniretail.kernel.errors import DomainError
from omniretail.kernel.limits import one_mailbox, whole_number
from omniretail.kernel.vault import vault_for
from omniretail.loyalty import service as loyalty
from omniretail.runtime import Runtime
from omniretail.web import session
from omniretail.web.deps import MaybeViewerDep, PageRoute, redirect
from omniretail.web.signin import _csrf_ok, _presession_form

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PENDING_COOKIE = "omniretail_sign_up"
FORM_EXPIRED = "The form expired. Please try again."
FIELDS = ("email", "name", "password", "confirm_password")


def code_policy(container: Runtime) -> CodePolicy:
    s = container.settings
    return CodePolicy(
        digits=s.identity_code_digits,
        ttl_seconds=s.identity_code_ttl_seconds,
        max_attempts=s.identity_code_max_attempts,
        sends_per_window=s.identity_code_sends_per_window,
        window_seconds=s.identity_code_window_seconds,
        sends_per_day=s.identity_code_sends_per_day,
    )


def _seal(container: Runtime, pending: sign_up.Pending) -> str:
    """The pending sign-up as an encrypted, authenticated cookie value of one length whatever
    it names: signed only, a decoy's ``0.0`` (the email has an account) or a new profile's id
    was there for the asker to read."""
    ids = f"{pending.customer_id or 0:019d}.{pending.identity_id or 0:019d}"
    return _sealer(container).encrypt(f"{ids}.{pending.sends_key}".encode()).decode()


def _sealer(container: Runtime) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(container.keyring.derive("web-sign-up")))


def _pending(request: Request) -> sign_up.Pending:
    raw = request.cookies.get(PENDING_COOKIE, "")
    try:
        value = _sealer(session.container_of(request)).decrypt(raw.encode()).decode()
    except (InvalidToken, UnicodeError):
        return sign_up.Pending(None, None)
    customer, _, rest = value.partition(".")
    identity, _, sends_key = rest.partition(".")
    customer_id, identity_id = whole_number(customer), whole_number(identity)
    if customer_id is None or identity_id is None:
        return sign_up.Pending(None, None)
    return sign_up.Pending(customer_id or None, identity_id or None, sends_key)


def _page(
    request: Request,
    template: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    return _presession_form(
        request,
        template,
        values=values or {},
        errors=errors,
        status=status,
        headers=headers,
        notice=notice,
    )


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, viewer: MaybeViewerDep) -> Response:
    if viewer is not None:
        return redirect(viewer.home)
    return _page(request, "shop/signup.html")


async def _no_sooner_than(request: Request, started: float) -> None:
    """Waits out ``sign_up_answer_seconds`` from ``started`` on the event loop (no thread
    held), so a real sign-up and a decoy answer at the same time."""
    floor = session.container_of(request).settings.sign_up_answer_seconds
    await asyncio.sleep(started + floor - time.monotonic())


def _start(
    container: Runtime, request: Request, email: str, name: str, password: str
) -> sign_up.Pending:
    with container.uow() as uow:
        return sign_up.start(
            uow,
            email,
            name,
            password,
            request.client.host if request.client else None,
            vault=vault_for(container.keyring),
            hasher=customers.hasher_for(container.keyring),
            policy=code_policy(container),
            throttle=sign_up.throttle_for(container.settings, container.keyring),
        )


@router.post("/signup")  # public, like POST /auth/password-reset/request
async def signup(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    confirm_password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    values = {"email": email, "name": name}
    if not _csrf_ok(request, csrf_token):
        errors = {"__all__": FORM_EXPIRED}
        return _page(request, "shop/signup.html", values=values, errors=errors, status=403)
    errors = {}
    if not (one_mailbox(email.strip()) and "." in email.strip().partition("@")[2]):
        errors["email"] = "Enter your email address, like name@example.com."
    if not name.strip():
        errors["name"] = "Enter your name."
    if password != confirm_password:
        errors["confirm_password"] = "The two passwords differ."
    if errors:
        return _page(request, "shop/signup.html", values=values, errors=errors, status=422)
    container = session.container_of(request)
    started = time.monotonic()
    try:
        pending = await run_in_threadpool(_start, container, request, email, name, password)
    except PasswordResetThrottled as exc:
        seconds = str(exc.extra.get("retry_after", 1))
        errors = {"__all__": f"Too many sign-ups. Try again in {seconds} seconds."}
        headers = {"Retry-After": seconds}
        return _page(
            request,
            "shop/signup.html",
            values=values,
            errors=errors,
            status=429,
            headers=headers,
        )
    except DomainError as exc:
        field = exc.field if exc.field in FIELDS else "__all__"
        errors = {field or "__all__": exc.detail}
        return _page(request, "shop/signup.html", values=values, errors=errors, status=exc.status)
    await _no_sooner_than(request, started)
    response = _page(request, "shop/signup_code.html", values={"email": email.strip()})
    response.set_cookie(
        PENDING_COOKIE,
        _seal(container, pending),
        max_age=24 * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/signup",
    )
    return response


@router.get("/signup/code", response_class=HTMLResponse)
def code_form(request: Request) -> Response:
    return _page(request, "shop/signup_code.html")


@router.post("/signup/code")  # the emailed code is the credential
async def enter_code(
    request: Request,
    code: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A decoy's code is refused without a look: no sooner than a real one's check."""
    started = time.monotonic()
    answer = await run_in_threadpool(_enter_code, request, code, csrf_token)
    await _no_sooner_than(request, started)
    return answer


def _enter_code(request: Request, code: str, csrf_token: str) -> Response:
    if not _csrf_ok(request, csrf_token):
        errors = {"__all__": FORM_EXPIRED}
        return _page(request, "shop/signup_code.html", errors=errors, status=403)
    if not code.strip():
        errors = {"code": "Enter the code from the email."}
        return _page(request, "shop/signup_code.html", errors=errors, status=422)
    container = session.container_of(request)
    with container.uow() as uow:
        outcome = sign_up.complete(
            uow,
            _pending(request),
            code,
            hasher=customers.hasher_for(container.keyring),
            policy=code_policy(container),
        )
        joined = outcome.principal
        if joined is not None and joined.customer_id is not None:
            root = customers.resolve_id(uow, joined.customer_id)
            loyalty.enrol(uow, root, actor=joined.actor)  # as the sign-up page says
    if outcome.principal is None:
        message = outcome.refused.detail if outcome.refused else sign_up.WRONG_CODE
        errors = {"code": message[:1].upper() + message[1:] + "."}
        return _page(request, "shop/signup_code.html", errors=errors, status=422)
    signer = session.signer(container)
    response = redirect("/account", notice="Welcome! Your email is verified.")
    session.start_session(
        response,
        request,
        signer.issue(outcome.principal, container.clock.now()),
        signer.ttl_seconds,
    )
    response.delete_cookie(PENDING_COOKIE, path="/signup")
    return response


@router.post("/signup/resend")  # public; limited per identity and person (CodePolicy)
async def resend(
    request: Request, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """A decoy sends nothing: no sooner than a real one's new code."""
    started = time.monotonic()
    answer = await run_in_threadpool(_resend, request, csrf_token)
    await _no_sooner_than(request, started)
    return answer


def _resend(request: Request, csrf_token: str) -> Response:
    if not _csrf_ok(request, csrf_token):
        errors = {"__all__": FORM_EXPIRED}
        return _page(request, "shop/signup_code.html", errors=errors, status=403)
    container = session.container_of(request)
    try:
        with container.uow() as uow:
            sign_up.resend(
                uow,
                _pending(request),
                vault=vault_for(container.keyring),
                hasher=customers.hasher_for(container.keyring),
                policy=code_policy(container),
                throttle=sign_up.throttle_for(container.settings, container.keyring),
            )
    except VerificationRateLimited:
        errors = {"__all__": "Several codes were sent already. Wait a while, then try again."}
        return _page(request, "shop/signup_code.html", errors=errors, status=429)
    return _page(request, "shop/signup_code.html", notice="A new code is on its way.")
