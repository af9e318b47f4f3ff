"""The console's session: the platform's own bearer token in a cookie, and CSRF tokens.

The cookie holds the same signed token ``POST /api/v1/auth/token`` issues (HttpOnly, so page
scripts never see it; SameSite=Lax, so other sites cannot post with it). Every form that
changes something also carries a CSRF token: an HMAC of the session token under a key of its
own, so it needs no server-side storage and dies with the session. Before sign-in, the
sign-in form is protected the same way with a random pre-session value (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from omniretail.auth import service as auth
from omniretail.auth.service import AuthPrincipal, TokenSigner
from omniretail.kernel.keys import same_secret
from omniretail.runtime import Runtime

SESSION_COOKIE = "omniretail_session"
PRESESSION_COOKIE = "omniretail_presession"
STORE_COOKIE = "omniretail_store"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def container_of(request: Request) -> Runtime:
    container: Runtime = request.app.state.container
    return container


def signer(container: Runtime) -> TokenSigner:
    return TokenSigner(container.keyring, container.settings.access_token_ttl_seconds)


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def principal_of(request: Request) -> AuthPrincipal | None:
    """The session's principal as stored now (one indexed read): a deleted or disabled
    principal, or one whose password changed since sign-in, has no session any more. Kept on
    the request, so a page asking twice reads once."""
    token = session_token(request)
    if token is None:
        return None
    known = getattr(request.state, "session_principal", None)
    if known is not None and known[0] == token:
        found: AuthPrincipal | None = known[1]
        return found
    container = container_of(request)
    claimed = signer(container).verify(token, container.clock.now())
    principal = None
    if claimed is not None:
        with container.read_uow() as uow:
            principal = auth.current_principal(uow, claimed)
    request.state.session_principal = (token, principal)
    return principal


def start_session(response: Response, request: Request, token: str, ttl_seconds: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(PRESESSION_COOKIE, path="/")


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(STORE_COOKIE, path="/")


def csrf_for(container: Runtime, bound_to: str) -> str:
    key = container.keyring.derive("web-csrf")
    return hmac.new(key, bound_to.encode(), hashlib.sha256).hexdigest()


def presession_value(request: Request) -> str:
    """The random value the sign-in form is bound to (reused while the cookie lives)."""
    return request.cookies.get(PRESESSION_COOKIE) or secrets.token_urlsafe(24)


def remember_presession(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        PRESESSION_COOKIE,
        value,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def csrf_matches(container: Runtime, bound_to: str | None, sent: str | None) -> bool:
    if not bound_to or not sent:
        return False
    return same_secret(csrf_for(container, bound_to), sent)
