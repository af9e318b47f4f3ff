"""What every console page needs: who is looking, what they may do, rendering, posted forms
(CSRF-checked), and running a change in one unit of work with its audit-log row.

What a viewer may do is decided by ``auth.access.decide``, the function the API decides with:
every form names the API operation it is equivalent to (``authorize_as``) with the parameters
and body it acts on, and ``change`` runs a use case only for such a ``Decision``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError

from omniretail.auth import access, policy
from omniretail.auth import service as auth
from omniretail.auth.access import Action
from omniretail.auth.errors import Forbidden
from omniretail.auth.service import AuthPrincipal, Role
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.ids import redacted_path
from omniretail.runtime import Runtime
from omniretail.web import session
from omniretail.web.forms import Errors, errors_of, first_values
from omniretail.web.rendering import environment

T = TypeVar("T")
HQ_ROLES = frozenset({Role.ADMIN.value, Role.SERVICE_AGENT.value, Role.MARKETER.value})


class SignInRequired(Exception):
    """No valid session: the page redirects to the sign-in form."""


class NotAllowed(Exception):
    """``link``: (href, text) of the page that lets the viewer go on, shown under the message."""

    def __init__(
        self, message: str, status: int = 403, link: tuple[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.link = link


@dataclass(frozen=True)
class Viewer:
    principal: AuthPrincipal
    csrf: str

    @property
    def role(self) -> str:
        return self.principal.role

    def can(self, permission: str) -> bool:
        return policy.permits(self.principal, policy.Rule(permission))

    @property
    def home(self) -> str:
        return home_of(self.role)


def home_of(role: str) -> str:
    if role in HQ_ROLES:
        return "/hq"
    if role == Role.STORE_ASSOCIATE.value:
        return "/store"
    return "/account"


def current_viewer(request: Request) -> Viewer:
    principal = session.principal_of(request)
    token = session.session_token(request)
    if principal is None or token is None:
        raise SignInRequired()
    return Viewer(principal, session.csrf_for(session.container_of(request), token))


def optional_viewer(request: Request) -> Viewer | None:
    try:
        return current_viewer(request)
    except SignInRequired:
        return None


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
MaybeViewerDep = Annotated[Viewer | None, Depends(optional_viewer)]


def require(viewer: Viewer, permission: str) -> None:
    """For pages that show what several operations read; forms use ``authorize_as``."""
    if not viewer.can(permission):
        raise NotAllowed(f"Your role ({viewer.role.replace('_', ' ')}) may not do this.")


def hq_viewer(request: Request) -> Viewer:
    viewer = current_viewer(request)
    if viewer.role not in HQ_ROLES:
        raise NotAllowed("The HQ console is for head-office staff.")
    return viewer


def customer_viewer(request: Request) -> Viewer:
    viewer = current_viewer(request)
    if viewer.role != Role.CUSTOMER.value or viewer.principal.customer_id is None:
        raise NotAllowed("These pages are for signed-in customers.")
    return viewer


HqDep = Annotated[Viewer, Depends(hq_viewer)]
CustomerDep = Annotated[Viewer, Depends(customer_viewer)]


@dataclass
class Posted:
    """A submitted form whose CSRF token matched the session."""

    viewer: Viewer
    values: dict[str, str]
    lists: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default).strip()


async def posted_form(request: Request) -> Posted:
    viewer = current_viewer(request)
    form = await request.form()
    sent = form.get(session.CSRF_FIELD) or request.headers.get(session.CSRF_HEADER)
    if not isinstance(sent, str) or not session.csrf_matches(
        session.container_of(request), session.session_token(request), sent
    ):
        raise NotAllowed("This form has expired. Reload the page and try again.", status=403)
    lists = {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}
    return Posted(viewer, first_values(form), lists)


PostedDep = Annotated[Posted, Depends(posted_form)]


def container(request: Request) -> Runtime:
    return session.container_of(request)


ContainerDep = Annotated[Runtime, Depends(container)]


def read(request: Request, fn: Callable[[UnitOfWork], T]) -> T:
    with session.container_of(request).read_uow() as uow:
        return fn(uow)


@dataclass(frozen=True)
class Decision:
    """An operation the viewer may perform, as ``authorize_as`` decided it."""

    viewer: Viewer
    action: Action


def authorize_as(
    request: Request,
    viewer: Viewer,
    operation: str,
    params: dict[str, Any] | None = None,
    body: Any = None,
) -> Decision:
    """Decides as the API would for ``operation`` (``"POST /inventory/counts"``, a key of
    ``auth.policy``) with these path parameters and body; a refusal is the API's 403 message
    on the error page, before anything is read for the form or written."""
    action = Action.of(operation, params, body)
    try:
        access.decide(lambda fn: read(request, fn), viewer.principal, action)
    except Forbidden as exc:
        raise NotAllowed(exc.detail) from exc
    return Decision(viewer, action)


def change(
    request: Request, decided: Decision | list[Decision], fn: Callable[[UnitOfWork], T]
) -> T:
    """Runs an authorised use case in one transaction, with the audit-log row the API writes
    for each operation it stands for (the subject is the console's path)."""
    decisions = decided if isinstance(decided, list) else [decided]
    with session.container_of(request).uow() as uow:
        result = fn(uow)  # may decide the steps it takes in this transaction (into ``decided``)
        if not decisions:
            raise ValueError("a change needs the decision of the operation it performs")
        for decision in decisions:
            auth.record_audit(
                uow,
                decision.viewer.principal,
                action=decision.action.key,
                area=access.audit_area(decision.action.path),
                subject=redacted_path(request.url.path, request.path_params),
            )
        return result


def submit(
    request: Request,
    decided: Decision | list[Decision],
    fn: Callable[[UnitOfWork], T],
    *,
    done: Callable[[T], Response],
    failed: Callable[[Errors, int], Response],
    errors: Callable[[ValidationError | DomainError], Errors] = errors_of,
) -> Response:
    """A save form's answer: ``change`` (``fn`` validates the body and saves), then ``done``
    with its result; a ``ValidationError`` or ``DomainError`` gives ``failed`` the messages
    beside the fields (``errors``) and the problem's status (422 for a schema's refusal)."""
    try:
        result = change(request, decided, fn)
    except (ValidationError, DomainError) as exc:
        return failed(errors(exc), getattr(exc, "status", 422))
    return done(result)


def render(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("notice", _notice(request))
    html = (
        environment()
        .get_template(template)
        .render(
            request=request,
            viewer=viewer,
            csrf=viewer.csrf if viewer else "",
            path=request.url.path,
            htmx=request.headers.get("hx-request") == "true",
            **context,
        )
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _notice(request: Request) -> str | None:
    """The ``notice`` of a redirect of ours: shown only on a navigation from this site (the
    browser's ``Sec-Fetch-Site``), so a link in someone's mail cannot put words on our page."""
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return None
    return request.query_params.get("notice")


def redirect(url: str, notice: str | None = None) -> RedirectResponse:
    if notice:
        url += ("&" if "?" in url else "?") + "notice=" + quote(notice)
    return RedirectResponse(url, status_code=303)


class PageRoute(APIRoute):
    """A console route: a domain problem not handled by the page becomes an HTML page with the
    problem's status and message (the API renders the same problem as JSON)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                return render(
                    request,
                    "error.html",
                    viewer=optional_viewer(request),
                    status=exc.status,
                    title=exc.title,
                    message=exc.detail,
                )

        return handle
