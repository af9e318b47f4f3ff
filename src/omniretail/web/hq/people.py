"""HQ users and roles: the staff and systems who sign in, creating one (an associate for a
store), disabling and enabling, a one-time set-password code handed over by the admin,
deleting; and the public page where that code sets the password. As the API's
``/auth/principals`` routes, through ``auth.service``; password hashes are never read here."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.auth import service as auth
from omniretail.auth import sign_in as sign_ins
from omniretail.auth.errors import UnknownPrincipal
from omniretail.auth.models import Role
from omniretail.auth.schemas import (
    PasswordResetIssued,
    PrincipalCreate,
    PrincipalRead,
    PrincipalUpdate,
)
from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.web import session
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
from omniretail.web.forms import Errors, body_of, errors_of
from omniretail.web.hq.export import csv_link, csv_response

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
public = APIRouter(route_class=PageRoute, include_in_schema=False)
STAFF_ROLES = [r for r in Role if r is not Role.CUSTOMER]
FORM_FIELDS = ("username", "role", "store_code", "password", "kind")
SET_PASSWORD = "/signin/set-password"


def _people(uow: UnitOfWork, role: str, state: str) -> list[PrincipalRead]:
    """Staff and systems (customers sign up in the shop and are found under Customers)."""
    found = [p for p in auth.list_principals(uow) if p.role is not Role.CUSTOMER]
    if role:
        found = [p for p in found if p.role.value == role]
    if state in ("active", "disabled"):
        found = [p for p in found if p.active == (state == "active")]
    return found


def _list_page(
    request: Request,
    viewer: Viewer,
    *,
    role: str = "",
    state: str = "",
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    def load(uow: UnitOfWork) -> dict[str, Any]:
        return {
            "people": _people(uow, role, state),
            "stores": catalog.list_locations(uow, "store"),
        }

    return render(
        request,
        "hq/people.html",
        viewer=viewer,
        status=status,
        role=role,
        state=state,
        roles=STAFF_ROLES,
        errors=errors or {},
        values=values or {"role": Role.STORE_ASSOCIATE.value},
        csv=csv_link("/hq/people", role=role, state=state),
        **read(request, load),
    )


@router.get("/people", response_model=None)
def people(
    request: Request, viewer: HqDep, role: str = "", state: str = "", format: str = ""
) -> Response:
    authorize_as(request, viewer, "GET /auth/principals")
    if format == "csv":
        found = read(request, lambda uow: _people(uow, role, state))
        return csv_response(
            "people.csv",
            ["id", "username", "kind", "role", "store", "active", "created_at"],
            (
                [p.id, p.username, p.kind, p.role.value, p.store_code, p.active, p.created_at]
                for p in found
            ),
        )
    return _list_page(request, viewer, role=role, state=state)


@router.post("/people", response_model=None)
def create(request: Request, posted: PostedDep) -> Response:
    values = dict(posted.values)
    if values.get("role") != Role.STORE_ASSOCIATE.value:
        values.pop("store_code", None)  # only an associate belongs to a store
    data = body_of(PrincipalCreate, values)
    decided = authorize_as(request, posted.viewer, "POST /auth/principals", body=data)
    try:
        body = PrincipalCreate.model_validate(data)
        done = change(request, decided, lambda uow: auth.create_principal(uow, body))
    except (ValidationError, DomainError) as exc:
        return _list_page(
            request,
            posted.viewer,
            errors=errors_of(exc, fields=FORM_FIELDS),
            values={k: v for k, v in posted.values.items() if k != "password"},
            status=422,
        )
    notice = f"Created {done.username}."
    if done.kind == "person" and not body.password:
        notice += " Issue a set-password code and hand it to them."
    return redirect(f"/hq/people/{done.id}", notice=notice)


def _person(request: Request, principal_id: int) -> PrincipalRead:
    found = read(request, lambda uow: auth.list_principals(uow))
    for principal in found:
        if principal.id == principal_id and principal.role is not Role.CUSTOMER:
            return principal
    raise UnknownPrincipal(f"no staff member or system {principal_id}", field="principal_id")


def _person_page(
    request: Request,
    viewer: Viewer,
    principal_id: int,
    *,
    issued: PasswordResetIssued | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    # The configured public address, as every emailed link: the Host header is the caller's.
    base = session.container_of(request).settings.public_base_url.rstrip("/")
    return render(
        request,
        "hq/person.html",
        viewer=viewer,
        status=status,
        person=_person(request, principal_id),
        issued=issued,
        set_password_url=base + SET_PASSWORD,
        errors=errors or {},
    )


@router.get("/people/{principal_id}", response_class=HTMLResponse)
def person(request: Request, viewer: HqDep, principal_id: int) -> HTMLResponse:
    authorize_as(request, viewer, "GET /auth/principals")
    return _person_page(request, viewer, principal_id)


@router.post("/people/{principal_id}/{action}", response_model=None)
def person_action(request: Request, posted: PostedDep, principal_id: int, action: str) -> Response:
    params = {"principal_id": principal_id}
    me = posted.viewer.principal
    container = session.container_of(request)
    try:
        if action in ("disable", "enable"):
            body = {"active": action == "enable"}
            decided = authorize_as(
                request, posted.viewer, "PATCH /auth/principals/{principal_id}", params, body
            )
            change(
                request,
                decided,
                lambda uow: auth.update_principal(
                    uow, principal_id, PrincipalUpdate(active=body["active"]), acting=me
                ),
            )
            return redirect(f"/hq/people/{principal_id}", notice=f"{action.title()}d.")
        if action == "reset":
            decided = authorize_as(
                request,
                posted.viewer,
                "POST /auth/principals/{principal_id}/password-reset",
                params,
            )
            ttl = timedelta(seconds=container.settings.password_reset_ttl_seconds)
            issued = change(
                request,
                decided,
                lambda uow: auth.issue_password_reset(uow, principal_id, ttl=ttl),
            )
            # Shown on this answer only: never in a URL, never stored in clear.
            return _person_page(request, posted.viewer, principal_id, issued=issued)
        if action == "delete":
            decided = authorize_as(
                request, posted.viewer, "DELETE /auth/principals/{principal_id}", params
            )
            gone = change(
                request, decided, lambda uow: auth.delete_principal(uow, principal_id, acting=me)
            )
            return redirect("/hq/people", notice=f"Deleted {gone.username}.")
    except DomainError as exc:
        return _person_page(
            request,
            posted.viewer,
            principal_id,
            errors={"__all__": exc.detail},
            status=exc.status,
        )
    return redirect(f"/hq/people/{principal_id}")


# --- the person sets their password with the admin's code (as POST /auth/password-reset) ---


def _set_password_form(
    request: Request, *, errors: Errors | None = None, status: int = 200
) -> HTMLResponse:
    container = session.container_of(request)
    value = session.presession_value(request)
    response = render(
        request,
        "hq/set_password.html",
        status=status,
        errors=errors or {},
        signin_csrf=session.csrf_for(container, value),
    )
    session.remember_presession(response, request, value)
    return response


@public.get(SET_PASSWORD, response_class=HTMLResponse)
def set_password_form(request: Request) -> HTMLResponse:
    return _set_password_form(request)


@public.post(SET_PASSWORD, response_model=None)  # public: the one-time code is the credential
def set_password(
    request: Request,
    token: Annotated[str, Form(max_length=200)] = "",
    new_password: Annotated[str, Form(max_length=200)] = "",
    confirm_password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    container = session.container_of(request)
    presession = request.cookies.get(session.PRESESSION_COOKIE)
    if not session.csrf_matches(container, presession, csrf_token):
        return _set_password_form(
            request, errors={"__all__": "The form expired. Please try again."}, status=403
        )
    errors: Errors = {}
    if not token.strip():
        errors["token"] = "Enter the code your admin gave you."
    if new_password != confirm_password:
        errors["confirm_password"] = "The two new passwords differ."
    if errors:
        return _set_password_form(request, errors=errors, status=422)
    try:
        sign_ins.reset_password(container.uow, container.read_uow, token.strip(), new_password)
    except DomainError as exc:
        field = {"new_password": "new_password", "token": "token"}.get(exc.field or "", "__all__")
        return _set_password_form(request, errors={field: exc.detail}, status=exc.status)
    return redirect("/signin", notice="Your password is set. Sign in with it.")
