"""HQ administration: the hub, API keys (created for a user or system and shown once, listed
by prefix, revoked) and the audit log (by who, what and when, paged). As the API's
``/auth/...`` and ``/audit`` routes, through ``auth.service``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import ApiKeyCreate, ApiKeyCreated
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.limits import whole_number
from omniretail.web.deps import (
    HqDep,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    read,
    redirect,
    render,
)
from omniretail.web.forms import Errors, day_filter, errors_of
from omniretail.web.hq.export import csv_link, csv_response, paged

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
AUDIT_PAGE = 50


@router.get("/admin", response_class=HTMLResponse)
def hub(request: Request, viewer: HqDep) -> HTMLResponse:
    return render(request, "hq/admin.html", viewer=viewer)


# --- API keys --------------------------------------------------------------------------------


def _keys_page(
    request: Request,
    viewer: Viewer,
    *,
    created: ApiKeyCreated | None = None,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    def load(uow: UnitOfWork) -> dict[str, Any]:
        owners = [p for p in auth.list_principals(uow) if p.role is not Role.CUSTOMER and p.active]
        return {"keys": auth.list_api_keys(uow), "owners": owners}

    return render(
        request,
        "hq/api_keys.html",
        viewer=viewer,
        status=status,
        created=created,
        errors=errors or {},
        values=values or {},
        csv=csv_link("/hq/api-keys"),
        **read(request, load),
    )


@router.get("/api-keys", response_model=None)
def api_keys(request: Request, viewer: HqDep, format: str = "") -> Response:
    authorize_as(request, viewer, "GET /auth/api-keys")
    if format == "csv":
        keys = read(request, auth.list_api_keys)
        return csv_response(
            "api-keys.csv",
            ["id", "prefix", "label", "owner", "created_at", "revoked_at"],
            ([k.id, k.prefix, k.label, k.principal, k.created_at, k.revoked_at] for k in keys),
        )
    return _keys_page(request, viewer)


@router.post("/api-keys", response_model=None)
def create_api_key(request: Request, posted: PostedDep) -> Response:
    owner = posted.get("principal_id")
    data = {"label": posted.get("label")}
    errors: Errors = {}
    owner_id = whole_number(owner)
    if owner_id is None:
        errors["principal_id"] = "Choose whose key it is."
    params = {"principal_id": owner_id or 0}
    decided = authorize_as(
        request, posted.viewer, "POST /auth/principals/{principal_id}/api-keys", params, data
    )
    creator = posted.viewer.principal.owner_id or posted.viewer.principal.id  # shown to them
    try:
        body = ApiKeyCreate.model_validate(data)
        if errors:
            raise DomainError(errors["principal_id"], field="principal_id")
        created = change(
            request,
            decided,
            lambda uow: auth.create_api_key(
                uow, params["principal_id"], body.label, created_by=creator
            ),
        )
    except (ValidationError, DomainError) as exc:
        return _keys_page(
            request,
            posted.viewer,
            errors={**errors, **errors_of(exc, fields=("label", "principal_id"))},
            values=posted.values,
            status=422,
        )
    # The key is on this answer only (never in a URL; only its digest is stored).
    return _keys_page(request, posted.viewer, created=created, status=201)


@router.post("/api-keys/{key_id}/revoke", response_model=None)
def revoke_api_key(request: Request, posted: PostedDep, key_id: int) -> Response:
    decided = authorize_as(
        request, posted.viewer, "POST /auth/api-keys/{key_id}/revoke", {"key_id": key_id}
    )
    try:
        done = change(request, decided, lambda uow: auth.revoke_api_key(uow, key_id))
    except DomainError as exc:
        return _keys_page(request, posted.viewer, errors=errors_of(exc), status=exc.status)
    return redirect("/hq/api-keys", notice=f"Key {done.prefix}… revoked.")


# --- the audit log ----------------------------------------------------------------------------


@router.get("/audit", response_model=None)
def audit(
    request: Request,
    viewer: HqDep,
    who: str = "",
    area: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
    format: str = "",
) -> Response:
    authorize_as(request, viewer, "GET /audit")
    page = max(1, page)
    errors: Errors = {}
    start = day_filter(since, "since", errors)
    end = day_filter(until, "until", errors, next_day=True)
    filters: dict[str, Any] = {
        "area": area.strip() or None,
        "actor": who.strip() or None,
        "action": action.strip() or None,
        "since": start,
        "until": end,
    }

    def fetch(uow: UnitOfWork, offset: int, limit: int) -> list[Any]:
        return auth.list_audit(uow, offset=offset, limit=limit, **filters)

    if format == "csv" and not errors:
        return csv_response(
            "audit.csv",
            ["occurred_at", "actor", "role", "area", "action", "subject"],
            (
                [a.occurred_at, a.actor, a.role, a.area, a.action, a.subject]
                for a in paged(request, fetch)
            ),
        )
    entries = (
        []
        if errors
        else read(request, lambda uow: fetch(uow, (page - 1) * AUDIT_PAGE, AUDIT_PAGE + 1))
    )
    query = {"who": who, "area": area, "action": action, "since": since, "until": until}
    return render(
        request,
        "hq/audit.html",
        viewer=viewer,
        status=422 if errors else 200,
        entries=entries[:AUDIT_PAGE],
        more=len(entries) > AUDIT_PAGE,
        page=page,
        values=query,
        query=query,
        errors=errors,
        csv=csv_link("/hq/audit", **query),
    )
