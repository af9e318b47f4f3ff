"""Sign-in (OAuth2 password flow at /auth/token), principals and API keys, the audit log,
and ``authorize``: the one dependency every route under /api/v1 runs first.

``authorize`` authenticates (``Authorization: Bearer <token>`` or ``X-API-Key``), looks the
route up in ``auth.policy``, applies the customer and store scopes, and leaves the principal
on ``request.state`` (the actor of ledger rows) with an audit hook that writes who changed
what in the same transaction as the change.

Scopes that depend on a stored row (whose a cart is, where a fulfilment, an order's lines, a
hold or a transfer are served) read it through the owning domain's read functions, off the
event loop; a row that does not exist passes here, so the route answers its own 404."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from omniretail.api.deps import ContainerDep, ReadDep, UseCaseDep
from omniretail.api.problems import problem
from omniretail.auth import policy, service
from omniretail.auth import sign_in as sign_ins
from omniretail.auth.errors import SignInThrottled
from omniretail.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    AuditRead,
    PasswordChange,
    PasswordResetIssued,
    PasswordResetRedeem,
    PrincipalCreate,
    PrincipalRead,
    PrincipalUpdate,
    TokenRead,
    WhoAmI,
)
from omniretail.auth.security import AuthPrincipal, TokenSigner
from omniretail.bootstrap import Container
from omniretail.customers import service as customers
from omniretail.customers.crypto import vault_for
from omniretail.customers.errors import CustomerErased, UnknownCustomer
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.inventory import transfers
from omniretail.inventory.errors import UnknownHold, UnknownTransfer
from omniretail.orders import access as orders
from omniretail.orders.schemas import CancelBody

API_PREFIX = "/api/v1"
STORE_FIELDS = ("location", "from_location", "to_location", "store", "location_code")
T = TypeVar("T")

router = APIRouter(tags=["auth"])


def signer(container: Container) -> TokenSigner:
    return TokenSigner(container.keyring, container.settings.access_token_ttl_seconds)


def throttle(container: Container) -> sign_ins.Throttle:
    return sign_ins.Throttle.from_settings(container.settings, container.keyring)


def throttled(request: Request, exc: SignInThrottled) -> JSONResponse:
    """429 problem+json with Retry-After."""
    seconds = int(exc.extra.get("retry_after", 1))
    return problem(
        exc.status,
        exc.slug,
        exc.title,
        exc.detail,
        instance=request.url.path,
        extra={"retry_after": seconds},
        headers={"Retry-After": str(seconds)},
    )


# --- the dependency ------------------------------------------------------------------------


async def authorize(request: Request) -> None:
    container: Container = request.app.state.container
    route = request.scope.get("route")
    template = getattr(route, "path_format", request.url.path)
    path = template.removeprefix(API_PREFIX)
    rule = policy.rule_for(request.method, path) or policy.ADMIN_ONLY
    if rule.permission == policy.PUBLIC:
        return
    principal = await _authenticate_off_the_loop(request, container)
    if principal is None:
        raise HTTPException(
            401,
            "sign in: a bearer token or an X-API-Key is needed",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not policy.allows(principal.role, rule):
        raise HTTPException(403, f"role {principal.role} may not {request.method} {path}")
    if principal.role == "customer":
        await _require_own_data(request, container, principal, rule, path)
    if principal.role == "store_associate" and rule.permission in policy.STORE_SCOPED:
        await _require_own_store(request, container, principal, path)
    request.state.principal = principal
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        request.state.audit = _audit_hook(principal, request.method, path, request.url.path)


AuthorizeDep = Depends(authorize)


async def _authenticate_off_the_loop(
    request: Request, container: Container
) -> AuthPrincipal | None:
    """Checking a credential reads its principal (one indexed read: deleted, disabled and
    revoked principals stop at once, in every process). That read waits for a pooled database
    connection; on the event loop the wait would stop the very requests that would give
    connections back (the server froze for the pool timeout under 200 clients), so it runs in
    the threadpool. Only an API key cached by ``api_key_cache_seconds`` skips it."""
    key = request.headers.get("x-api-key")
    bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    if not bearer and not key:
        return None
    if key and not bearer and container.settings.api_key_cache_seconds > 0:
        found, principal = service.cached_principal_for_key(key.strip())
        if found:
            return principal
    return await run_in_threadpool(_authenticate, request, container)


def _authenticate(request: Request, container: Container) -> AuthPrincipal | None:
    header = request.headers.get("authorization", "")
    key = request.headers.get("x-api-key")
    if header.lower().startswith("bearer "):
        claimed = signer(container).verify(header[7:].strip(), container.clock.now())
        if claimed is None:
            return None
        with container.read_uow() as uow:
            return service.current_principal(uow, claimed)
    if key:
        with container.read_uow() as uow:
            return service.principal_for_key(
                uow, key.strip(), cache_seconds=container.settings.api_key_cache_seconds
            )
    return None


async def _require_own_data(
    request: Request, container: Container, principal: AuthPrincipal, rule: policy.Rule, path: str
) -> None:
    raw = request.path_params.get("customer_id")
    if raw is None:
        if not rule.customer_unscoped:
            raise HTTPException(403, "customers may only act on their own profile")
        if path == "/events":
            await _require_own_events(request, container, principal)
        elif path.startswith("/carts"):
            await _require_own_cart(request, container, principal)
        return
    if not _same_person(container, principal, raw):
        raise HTTPException(403, "customers may only see and change their own data")


def _same_person(container: Container, principal: AuthPrincipal, raw: Any) -> bool:
    try:
        asked = int(raw)
    except (TypeError, ValueError):
        return False
    if principal.customer_id is None:
        return False
    if asked == principal.customer_id:
        return True
    with container.read_uow() as uow:
        try:
            return customers.resolve_id(uow, asked) == customers.resolve_id(
                uow, principal.customer_id
            )
        except (UnknownCustomer, CustomerErased):
            return False


async def _require_own_events(
    request: Request, container: Container, principal: AuthPrincipal
) -> None:
    body = await _json_body(request)
    events = body.get("events", []) if isinstance(body, dict) else []
    for event in events if isinstance(events, list) else []:
        cid = event.get("customer_id") if isinstance(event, dict) else None
        if cid is not None and not _same_person(container, principal, cid):
            raise HTTPException(403, "customers may only send their own events")


async def _require_own_cart(
    request: Request, container: Container, principal: AuthPrincipal
) -> None:
    """A customer uses their own carts (those of any profile merged into theirs) and anonymous
    carts, whose token they present; a cart is created for, or attached to, themselves only."""
    body = await _json_body(request)
    named = body.get("customer_id") if isinstance(body, dict) else None
    if named is not None and not await run_in_threadpool(_same_person, container, principal, named):
        raise HTTPException(403, "customers may only create or attach carts for themselves")
    token = request.path_params.get("token")
    if token is not None and not await run_in_threadpool(
        _cart_is_theirs, container, principal, str(token)
    ):
        raise HTTPException(403, "this cart belongs to another customer")


def _cart_is_theirs(container: Container, principal: AuthPrincipal, token: str) -> bool:
    owner = _read(container, lambda uow: orders.cart_owner(uow, token))
    if owner is None or owner.customer_id is None:
        return True  # no such cart (the route answers 404), or an anonymous one
    return _same_person(container, principal, owner.customer_id)


async def _require_own_store(
    request: Request, container: Container, principal: AuthPrincipal, path: str
) -> None:
    """A store associate changes stock, fulfilments and orders of their own store only: every
    location the request names, and the location of the fulfilment, order lines, hold or
    transfer it acts on (see the access-control section of docs/architecture.md)."""
    store = principal.store_code
    named = [request.path_params.get("location")]
    body = await _json_body(request)
    if isinstance(body, dict):
        named += [body.get(f) for f in STORE_FIELDS]
    for value in named:
        if isinstance(value, str) and value.strip().upper() != store:
            raise HTTPException(403, f"store associates of {store} may not change stock at {value}")
    params = request.path_params
    step = path.rsplit("/", 1)[-1]
    if "fid" in params:
        fid = str(params["fid"])
        sites = await run_in_threadpool(
            _read, container, lambda uow: orders.fulfilment_sites(uow, fid)
        )
        if sites is not None and store not in sites.acting(step):
            where = " or ".join(sorted(sites.acting(step)))
            raise HTTPException(
                403,
                f"fulfilment {fid} is served by {where}: store associates of {store} may not"
                f" {step} it",
            )
    elif "hold_id" in params:
        hold_id = str(params["hold_id"])
        location = await run_in_threadpool(
            _read, container, lambda uow: _hold_location(uow, hold_id)
        )
        if location is not None and location != store:
            raise HTTPException(
                403,
                f"hold {hold_id} is at {location}: store associates of {store} may not {step} it",
            )
    elif "transfer_id" in params:
        transfer_id = str(params["transfer_id"])
        ends = await run_in_threadpool(
            _read, container, lambda uow: _transfer_ends(uow, transfer_id, step)
        )
        if ends is not None and store not in ends:
            raise HTTPException(
                403,
                f"only {' or '.join(sorted(ends))} may {step} transfer {transfer_id}: store"
                f" associates of {store} may not",
            )
    elif path == "/orders/{number}/cancel":
        await _require_own_lines(request, container, store, body)


async def _require_own_lines(
    request: Request, container: Container, store: str | None, body: Any
) -> None:
    """Cancelling: every line cancelled (the named ones, else all open lines) is sent from or
    collected at the associate's store."""
    number = str(request.path_params["number"])
    try:  # the lines exactly as the route will read them; a body it refuses passes (422 there)
        line_nos = CancelBody.model_validate(body).named_line_nos()
    except ValidationError:
        return
    lines = await run_in_threadpool(
        _read, container, lambda uow: orders.cancel_sites(uow, number, line_nos)
    )
    for line_no, sites in lines or []:
        if store not in sites:
            raise HTTPException(
                403,
                f"line {line_no} of order {number} is served by {' and '.join(sorted(sites))}:"
                f" store associates of {store} may cancel only lines their store serves",
            )


def _hold_location(uow: UnitOfWork, hold_id: str) -> str | None:
    try:
        return inventory.get_hold(uow, hold_id).location
    except UnknownHold:
        return None


def _transfer_ends(uow: UnitOfWork, transfer_id: str, step: str) -> frozenset[str] | None:
    """Who does ``step``: the sending location ships, the receiving one receives; either
    cancels."""
    try:
        t = transfers.get_transfer(uow, transfer_id)
    except UnknownTransfer:
        return None
    if step == "ship":
        return frozenset({t.from_location})
    if step == "receive":
        return frozenset({t.to_location})
    return frozenset({t.from_location, t.to_location})


def _read(container: Container, fn: Callable[[UnitOfWork], T]) -> T:
    with container.read_uow() as uow:
        return fn(uow)


async def _json_body(request: Request) -> Any:
    try:
        raw = await request.body()
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return None


def _audit_hook(principal: AuthPrincipal, method: str, template: str, path: str) -> Any:
    area = template.strip("/").split("/")[0] or "api"
    if area == "events":
        area = "customers"

    def record(uow: UnitOfWork) -> None:
        service.record_audit(uow, principal, action=f"{method} {template}", area=area, subject=path)

    return record


# --- routes --------------------------------------------------------------------------------


@router.post(
    "/auth/token",
    response_model=TokenRead,
    responses={401: {"description": "wrong credentials"}, 429: {"description": "throttled"}},
)
def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    container: ContainerDep,
) -> TokenRead | Response:
    """OAuth2 password flow: staff sign in with their username, customers with their email.
    Failures are throttled per account and per client address (429 with Retry-After)."""
    try:
        principal = sign_ins.sign_in(
            container.uow,
            container.read_uow,
            form.username,
            form.password,
            vault=vault_for(container.keyring),
            throttle=throttle(container),
            address=request.client.host if request.client else None,
        )
    except SignInThrottled as exc:
        return throttled(request, exc)
    return _token_for(container, principal)


def _token_for(container: Container, principal: AuthPrincipal) -> TokenRead:
    token_signer = signer(container)
    return TokenRead(
        access_token=token_signer.issue(principal, container.clock.now()),
        expires_in=token_signer.ttl_seconds,
        role=principal.role,
    )


@router.post("/auth/password", response_model=TokenRead)
def change_password(
    request: Request, body: PasswordChange, container: ContainerDep
) -> TokenRead | Response:
    """Change your own password (any principal with a password, customers included). Every
    earlier token and console session ends; the answer carries a fresh token."""
    me: AuthPrincipal = request.state.principal
    try:
        principal = sign_ins.change_password(
            container.uow,
            container.read_uow,
            me.id,
            body.current_password,
            body.new_password,
            throttle=throttle(container),
        )
    except SignInThrottled as exc:
        return throttled(request, exc)
    return _token_for(container, principal)


@router.post("/auth/password-reset", response_model=TokenRead)
def redeem_password_reset(body: PasswordResetRedeem, container: ContainerDep) -> TokenRead:
    """Set a new password with a one-time reset token (issued by an admin; single use,
    expiring). Every earlier token and session ends; the answer signs the person in."""
    principal = sign_ins.reset_password(
        container.uow, container.read_uow, body.token, body.new_password
    )
    return _token_for(container, principal)


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
    request: Request, principal_id: int, body: PrincipalUpdate, use_case: UseCaseDep
) -> PrincipalRead:
    """Disable (every token and API key stops at once) or enable a principal."""
    me: AuthPrincipal = request.state.principal
    return use_case.run(lambda uow: service.update_principal(uow, principal_id, body, acting=me))


@router.delete("/auth/principals/{principal_id}", status_code=204)
def delete_principal(request: Request, principal_id: int, use_case: UseCaseDep) -> Response:
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
    principal_id: int, use_case: UseCaseDep, container: ContainerDep
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
def create_api_key(principal_id: int, body: ApiKeyCreate, use_case: UseCaseDep) -> ApiKeyCreated:
    """A new API key for a system; the key is in this response only (never stored)."""
    return use_case.run(
        lambda uow: service.create_api_key(uow, principal_id, body.label),
        status_code=201,
        remember=False,
    )


@router.get("/audit", response_model=list[AuditRead])
def audit_log(
    uow: ReadDep,
    area: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditRead]:
    """Who changed stock, orders, customers, loyalty and consents, newest first."""
    return service.list_audit(uow, area=area, limit=limit)
