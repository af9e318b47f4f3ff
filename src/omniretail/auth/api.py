"""Sign-in (OAuth2 password flow at /auth/token), principals and API keys, the audit log,
and ``authorize``: the one dependency every route under /api/v1 runs first.

``authorize`` authenticates (``Authorization: Bearer <token>`` or ``X-API-Key``), looks the
route up in ``auth.policy``, applies the customer and store scopes, and leaves the principal
on ``request.state`` (the actor of ledger rows) with an audit hook that writes who changed
what in the same transaction as the change.

The decision itself is ``auth.access`` (shared with the console): scopes that depend on a
stored row (whose a cart is, where a fulfilment, an order's lines, a hold or a transfer are
served) are read through the owning domain's read functions, off the event loop; a row that
does not exist passes here, so the route answers its own 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from starlette.exceptions import HTTPException

from omniretail.api.deps import ContainerDep, ReadDep, UseCaseDep
from omniretail.api.lane import in_lane
from omniretail.api.params import IdPath
from omniretail.auth import access, policy, principal_cache, service
from omniretail.auth import password_reset as resets
from omniretail.auth import sign_in as sign_ins
from omniretail.auth.access import Action
from omniretail.auth.errors import PublicRequestsThrottled
from omniretail.auth.principal_cache import PrincipalCache
from omniretail.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    AuditRead,
    PasswordChange,
    PasswordResetIssued,
    PasswordResetRedeem,
    PasswordResetRequest,
    PasswordResetRequested,
    PrincipalCreate,
    PrincipalRead,
    PrincipalUpdate,
    TokenRead,
    WhoAmI,
)
from omniretail.auth.security import AuthPrincipal, TokenSigner, digest_api_key
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.ids import redacted_path
from omniretail.kernel.limits import Timestamp, loads_json
from omniretail.kernel.vault import vault_for
from omniretail.runtime import Runtime

API_PREFIX = "/api/v1"

router = APIRouter(tags=["auth"])


def signer(container: Runtime) -> TokenSigner:
    return TokenSigner(container.keyring, container.settings.access_token_ttl_seconds)


def throttle(container: Runtime) -> sign_ins.Throttle:
    return sign_ins.Throttle.from_settings(container.settings, container.keyring)


# --- the dependency ------------------------------------------------------------------------


async def authorize(request: Request) -> None:
    container: Runtime = request.app.state.container
    template = getattr(request.scope.get("route"), "path_format", None) or _url_path(request)
    path = template.removeprefix(API_PREFIX)
    rule = policy.rule_for(request.method, path) or policy.ADMIN_ONLY
    if rule.permission == policy.PUBLIC:
        if rule.throttled:
            await in_lane(request, _count_public_request, request, container)
        return
    principal = await _authenticate_off_the_loop(request, container)
    if principal is None:
        header, key = _credentials(request)
        presented = header.lower().startswith("bearer ") or bool(key)
        raise HTTPException(
            401,
            "sign in: the bearer token or X-API-Key is not valid (expired, revoked or mistyped)"
            if presented
            else "sign in: a bearer token or an X-API-Key is needed",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # The decision is auth.access's, shared with the console. Admins and unscoped roles are
    # settled without reading the body, the database or a thread.
    body = await _json_body(request) if access.scoped(principal, rule) else None
    action = Action(request.method, path, request.path_params, body, request.query_params)
    checks = access.screen(principal, action)
    if checks:
        await in_lane(request, access.run_checks, _read(container), checks)
    request.state.principal = principal
    # What a route may show depends on more than its own rule (names to customers:read only).
    request.state.holds = lambda permission: policy.permits(principal, policy.Rule(permission))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        request.state.audit = _audit_hook(
            principal, request.method, path, redacted_path(_url_path(request), request.path_params)
        )


AuthorizeDep = Depends(authorize)


async def _authenticate_off_the_loop(request: Request, container: Runtime) -> AuthPrincipal | None:
    """Checking a credential reads its principal (one indexed read: deleted, disabled and
    revoked principals stop at once, in every process). That read waits for a pooled database
    connection; on the event loop the wait would stop the very requests that would give
    connections back (the server froze for the pool timeout under 200 clients), so it runs on
    the shop's lane (``api.lane``). On PostgreSQL the answer is kept in
    ``auth.principal_cache`` (invalidated by LISTEN/NOTIFY), so a known credential needs
    neither; without that cache only an API key cached by ``api_key_cache_seconds`` skips the
    read."""
    header, key = _credentials(request)
    bearer = header.lower().startswith("bearer ")
    if not bearer and not key:
        return None
    cache: PrincipalCache | None = request.app.state.principal_cache()
    if cache is None or not cache.serving:
        if key and not bearer and container.settings.api_key_cache_seconds > 0:
            found, principal = service.cached_principal_for_key(key.strip())
            if found:
                return principal
        return await in_lane(request, _authenticate, container, header, key)
    # The token's signature and expiry are checked on every request, cached or not.
    claimed = (
        signer(container).verify(header[7:].strip(), container.clock.now()) if bearer else None
    )
    if bearer and claimed is None:
        return None
    cache_key = (
        principal_cache.token_key(claimed)
        if claimed is not None
        else principal_cache.api_key_key(digest_api_key((key or "").strip()))
    )
    now = container.clock.now().timestamp()
    principal = cache.get(cache_key, now)
    if principal is not None:
        return principal
    generation = cache.generation
    # Read afresh (not through the api_key_cache_seconds fallback): this answer is kept.
    principal = await in_lane(request, _read_principal, container, claimed, key, 0.0)
    if principal is not None:
        cache.put(cache_key, principal, generation)
    return principal


def _credentials(request: Request) -> tuple[str, str | None]:
    """The Authorization header ("" without one) and the X-API-Key (the first of each), found
    in one pass over the raw headers."""
    header: str | None = None
    key: str | None = None
    for name, value in request.scope["headers"]:
        if header is None and name == b"authorization":
            header = value.decode("latin-1")
        elif key is None and name == b"x-api-key":
            key = value.decode("latin-1")
    return header or "", key


def _url_path(request: Request) -> str:
    """``request.url.path`` without building the whole URL."""
    path: str = request.scope["path"]
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


def _authenticate(container: Runtime, header: str, key: str | None) -> AuthPrincipal | None:
    if header.lower().startswith("bearer "):
        claimed = signer(container).verify(header[7:].strip(), container.clock.now())
        if claimed is None:
            return None
        return _read_principal(container, claimed, None)
    return _read_principal(container, None, key, container.settings.api_key_cache_seconds)


def _read_principal(
    container: Runtime,
    claimed: AuthPrincipal | None,
    key: str | None,
    key_cache_seconds: float = 0.0,
) -> AuthPrincipal | None:
    if claimed is not None:
        with container.read_uow() as uow:
            return service.current_principal(uow, claimed)
    if key:
        with container.read_uow() as uow:
            return service.principal_for_key(uow, key.strip(), cache_seconds=key_cache_seconds)
    return None


def _count_public_request(request: Request, container: Runtime) -> None:
    """Counts one request of a throttled public route from this client address; 429 while the
    address is held back."""
    service.throttle_address(
        container.uow,
        container.keyring,
        service.AddressLimit.public_routes(container.settings),
        request.client.host if request.client else None,
        refused=lambda seconds: PublicRequestsThrottled(
            f"too many requests from this address; try again in {seconds} seconds",
            retry_after=seconds,
        ),
    )


def _read(container: Runtime) -> access.Reader:
    def read(fn: Any) -> Any:
        with container.read_uow() as uow:
            return fn(uow)

    return read


async def _json_body(request: Request) -> Any:
    try:
        raw = await request.body()
        return loads_json(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return None


def _audit_hook(principal: AuthPrincipal, method: str, template: str, path: str) -> Any:
    area = access.audit_area(template)

    def record(uow: UnitOfWork) -> None:
        service.record_audit(uow, principal, action=f"{method} {template}", area=area, subject=path)

    return record


# --- routes --------------------------------------------------------------------------------


class PasswordForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form with every field bounded (an Argon2 hash of a megabyte of
    password is work for nothing)."""

    def __init__(
        self,
        *,
        grant_type: Annotated[str | None, Form(pattern="^password$", max_length=8)] = None,
        username: Annotated[str, Form(max_length=320)],
        password: Annotated[str, Form(max_length=200, json_schema_extra={"format": "password"})],
        scope: Annotated[str, Form(max_length=500)] = "",
        client_id: Annotated[str | None, Form(max_length=200)] = None,
        client_secret: Annotated[
            str | None, Form(max_length=200, json_schema_extra={"format": "password"})
        ] = None,
    ) -> None:
        super().__init__(
            grant_type=grant_type,
            username=username,
            password=password,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )


@router.post(
    "/auth/token",
    response_model=TokenRead,
    responses={401: {"description": "wrong credentials"}, 429: {"description": "throttled"}},
)
def issue_token(
    request: Request,
    form: Annotated[PasswordForm, Depends()],
    container: ContainerDep,
) -> TokenRead:
    """OAuth2 password flow: staff sign in with their username, customers with their email.
    Failures are throttled per account and per client address (429 with Retry-After)."""
    principal = sign_ins.sign_in(
        container.uow,
        container.read_uow,
        form.username,
        form.password,
        vault=vault_for(container.keyring),
        throttle=throttle(container),
        address=request.client.host if request.client else None,
    )
    return _token_for(container, principal)


def _token_for(container: Runtime, principal: AuthPrincipal) -> TokenRead:
    token_signer = signer(container)
    return TokenRead(
        access_token=token_signer.issue(principal, container.clock.now()),
        expires_in=token_signer.ttl_seconds,
        role=principal.role,
    )


@router.post("/auth/password", response_model=TokenRead)
def change_password(request: Request, body: PasswordChange, container: ContainerDep) -> TokenRead:
    """Change your own password (any principal with a password, customers included). Every
    earlier token and console session ends; the answer carries a fresh token."""
    me: AuthPrincipal = request.state.principal
    principal = sign_ins.change_password(
        container.uow,
        container.read_uow,
        me.id,
        body.current_password,
        body.new_password,
        throttle=throttle(container),
    )
    return _token_for(container, principal)


@router.post(
    "/auth/password-reset",
    response_model=TokenRead,
    responses={422: {"description": "unknown, used or expired token or code; weak password"}},
)
def redeem_password_reset(body: PasswordResetRedeem, container: ContainerDep) -> TokenRead:
    """Set a new password with a one-time reset token (issued by an admin) or with the email
    and the code emailed to it (``/auth/password-reset/request``): single use, expiring, a few
    wrong codes. Every earlier token and session ends; the answer signs the person in."""
    if body.token is not None:
        principal = sign_ins.reset_password(
            container.uow, container.read_uow, body.token, body.new_password
        )
    else:
        assert body.email is not None and body.code is not None
        principal = resets.redeem_code(
            container.uow,
            body.email,
            body.code,
            body.new_password,
            vault=vault_for(container.keyring),
            hasher=resets.ResetCodeHasher(container.keyring),
            policy=resets.ResetPolicy.from_settings(container.settings),
        )
    return _token_for(container, principal)


@router.post(
    "/auth/password-reset/request",
    status_code=202,
    response_model=PasswordResetRequested,
    responses={429: {"description": "too many requests for this email or from this client"}},
)
def request_password_reset(
    request: Request, body: PasswordResetRequest, container: ContainerDep
) -> PasswordResetRequested:
    """Forgot your password: if the email is a verified email of a customer's account, a
    one-time code goes to it. The answer is the same whether or not it does (the code is
    never in it); requests are limited per email and per client address (429, Retry-After)."""
    policy = resets.ResetPolicy.from_settings(container.settings)
    with container.uow() as uow:
        resets.request_reset(
            uow,
            body.email,
            request.client.host if request.client else None,
            vault=vault_for(container.keyring),
            throttle=resets.throttle_for(container.settings, container.keyring),
        )
    return PasswordResetRequested(
        detail="If this email belongs to an account, a reset code is on its way to it.",
        expires_in_minutes=policy.ttl_seconds // 60,
    )


@router.post("/auth/signout", status_code=204, response_class=Response)
def sign_out(request: Request, container: ContainerDep) -> Response:
    """Ends the session of the bearer token this request carries: it is refused from now on,
    in every process (other sessions of the same person go on). An API key is revoked at
    ``POST /auth/api-keys/{key_id}/revoke`` instead; for one, this does nothing."""
    me: AuthPrincipal = request.state.principal
    with container.uow() as uow:
        service.sign_out(uow, me, container.clock.now())
    return Response(status_code=204)


@router.get("/auth/me", response_model=WhoAmI)
def who_am_i(request: Request) -> WhoAmI:
    p: AuthPrincipal = request.state.principal
    return WhoAmI(
        id=p.id,
        name=p.name,
        role=p.role,
        store_code=p.store_code,
        customer_id=p.customer_id,
        via=p.via,
    )


@router.get("/auth/principals", response_model=list[PrincipalRead])
def list_principals(uow: ReadDep) -> list[PrincipalRead]:
    return service.list_principals(uow)


@router.post("/auth/principals", status_code=201, response_model=PrincipalRead)
def create_principal(body: PrincipalCreate, use_case: UseCaseDep) -> PrincipalRead:
    return use_case.run(
        lambda uow: service.create_principal(uow, body), status_code=201, remember=False
    )


@router.patch("/auth/principals/{principal_id}", response_model=PrincipalRead)
def update_principal(
    request: Request, principal_id: IdPath, body: PrincipalUpdate, use_case: UseCaseDep
) -> PrincipalRead:
    """Disable (every token and API key stops at once) or enable a principal."""
    me: AuthPrincipal = request.state.principal
    return use_case.run(lambda uow: service.update_principal(uow, principal_id, body, acting=me))


@router.delete("/auth/principals/{principal_id}", status_code=204)
def delete_principal(request: Request, principal_id: IdPath, use_case: UseCaseDep) -> Response:
    """Remove a principal with its API keys (its tokens stop at once)."""
    me: AuthPrincipal = request.state.principal
    use_case.run(
        lambda uow: service.delete_principal(uow, principal_id, acting=me),
        status_code=204,
        remember=False,
    )
    return Response(status_code=204)


@router.post(
    "/auth/principals/{principal_id}/password-reset",
    status_code=201,
    response_model=PasswordResetIssued,
)
def issue_password_reset(
    principal_id: IdPath, use_case: UseCaseDep, container: ContainerDep
) -> PasswordResetIssued:
    """A one-time reset token for a person (shown once, only its digest is stored), to hand
    over out of band; it replaces any earlier unused one and expires after
    ``password_reset_ttl_seconds``."""
    ttl = timedelta(seconds=container.settings.password_reset_ttl_seconds)
    return use_case.run(
        lambda uow: service.issue_password_reset(uow, principal_id, ttl=ttl),
        status_code=201,
        remember=False,
    )


@router.post(
    "/auth/principals/{principal_id}/api-keys", status_code=201, response_model=ApiKeyCreated
)
def create_api_key(
    request: Request, principal_id: IdPath, body: ApiKeyCreate, use_case: UseCaseDep
) -> ApiKeyCreated:
    """A new API key for a system; the key is in this response only (never stored). It is
    recorded as made by the person behind the caller's credential, whom per-person limits
    count its use against."""
    acting: AuthPrincipal = request.state.principal
    creator = acting.owner_id or acting.id
    return use_case.run(
        lambda uow: service.create_api_key(uow, principal_id, body.label, created_by=creator),
        status_code=201,
        remember=False,
    )


@router.get("/auth/api-keys", response_model=list[ApiKeyRead])
def list_api_keys(uow: ReadDep) -> list[ApiKeyRead]:
    """Every API key, newest first: its prefix and label, never the key."""
    return service.list_api_keys(uow)


@router.post("/auth/api-keys/{key_id}/revoke", response_model=ApiKeyRead)
def revoke_api_key(key_id: IdPath, use_case: UseCaseDep) -> ApiKeyRead:
    """The key stops at once, in every process (with ``api_key_cache_seconds`` and no LISTEN
    cache, other processes: after that many seconds)."""
    return use_case.run(lambda uow: service.revoke_api_key(uow, key_id))


@router.get("/audit", response_model=list[AuditRead])
def audit_log(
    uow: ReadDep,
    area: Annotated[str | None, Query(max_length=40)] = None,
    actor: Annotated[str | None, Query(max_length=120, description="part of the actor")] = None,
    action: Annotated[
        str | None, Query(max_length=200, description="part of the operation")
    ] = None,
    since: Annotated[Timestamp | None, Query(description="from (inclusive)")] = None,
    until: Annotated[Timestamp | None, Query(description="to (exclusive)")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditRead]:
    """Who changed stock, orders, customers, loyalty and consents, newest first."""
    return service.list_audit(
        uow,
        area=area,
        actor=actor,
        action=action,
        since=since,
        until=until,
        offset=offset,
        limit=limit,
    )
