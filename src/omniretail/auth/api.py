"""Sign-in (OAuth2 password flow at /auth/token), principals and API keys, the audit log,
and ``authorize``: the one dependency every route under /api/v1 runs first.

``authorize`` authenticates (``Authorization: Bearer <token>`` or ``X-API-Key``), looks the
route up in ``auth.policy``, applies the customer and store scopes, and leaves the principal
on ``request.state`` (the actor of ledger rows) with an audit hook that writes who changed
what in the same transaction as the change."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from starlette.exceptions import HTTPException

from omniretail.api.deps import ContainerDep, ReadDep, UseCaseDep
from omniretail.auth import policy, service
from omniretail.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    AuditRead,
    PrincipalCreate,
    PrincipalRead,
    TokenRead,
    WhoAmI,
)
from omniretail.auth.security import AuthPrincipal, TokenSigner
from omniretail.bootstrap import Container
from omniretail.customers import service as customers
from omniretail.customers.crypto import vault_for
from omniretail.customers.errors import CustomerErased, UnknownCustomer
from omniretail.db.uow import UnitOfWork

API_PREFIX = "/api/v1"
STORE_FIELDS = ("location", "from_location", "to_location", "store", "location_code")

router = APIRouter(tags=["auth"])


def signer(container: Container) -> TokenSigner:
    return TokenSigner(container.keyring, container.settings.access_token_ttl_seconds)


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
        await _require_own_store(request, principal)
    request.state.principal = principal
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        request.state.audit = _audit_hook(principal, request.method, path, request.url.path)


AuthorizeDep = Depends(authorize)


async def _authenticate_off_the_loop(
    request: Request, container: Container
) -> AuthPrincipal | None:
    """An API-key look-up that misses the cache waits for a pooled database connection; on the
    event loop that wait would stop the very requests that would give connections back (the
    server froze for the pool timeout under 200 clients), so it runs in the threadpool. A
    cached key or a bearer token needs no database and no thread."""
    key = request.headers.get("x-api-key")
    if key and not request.headers.get("authorization", "").lower().startswith("bearer "):
        found, principal = service.cached_principal_for_key(key.strip())
        if found:
            return principal
        return await run_in_threadpool(_authenticate, request, container)
    return _authenticate(request, container)


def _authenticate(request: Request, container: Container) -> AuthPrincipal | None:
    header = request.headers.get("authorization", "")
    key = request.headers.get("x-api-key")
    if header.lower().startswith("bearer "):
        return signer(container).verify(header[7:].strip(), container.clock.now())
    if key:
        with container.read_uow() as uow:
            return service.principal_for_key(uow, key.strip())
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


async def _require_own_store(request: Request, principal: AuthPrincipal) -> None:
    named = [request.path_params.get("location")]
    body = await _json_body(request)
    if isinstance(body, dict):
        named += [body.get(f) for f in STORE_FIELDS]
    for value in named:
        if isinstance(value, str) and value.strip().upper() != principal.store_code:
            raise HTTPException(
                403, f"store associates of {principal.store_code} may not change stock at {value}"
            )


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


@router.post("/auth/token", response_model=TokenRead)
def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], container: ContainerDep
) -> TokenRead:
    """OAuth2 password flow: staff sign in with their username, customers with their email."""
    with container.read_uow() as uow:
        principal = service.sign_in(
            uow, form.username, form.password, vault=vault_for(container.keyring)
        )
        token_signer = signer(container)
        token = token_signer.issue(principal, uow.now)
    return TokenRead(
        access_token=token,
        expires_in=token_signer.ttl_seconds,
        role=principal.role,
    )


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
