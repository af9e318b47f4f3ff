"""HQ journeys: the list with runs counted, the classics installed as drafts, the editor
(``journey_form``: its buttons re-render the form with HTMX and save nothing; Save stores the
draft), publish / pause / resume / archive (archiving asks first: it ends the active runs),
the versions and the most recent runs. Each form is decided and audited as the API's
``/marketing/journeys`` operation (``web.deps``); the editor's buttons as the console-only
``POST /console/journeys/edit``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.vault import vault_for
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import JourneyCreate, JourneyDefinition
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
from omniretail.web.forms import GENERAL, Errors, errors_of
from omniretail.web.hq import journey_form
from omniretail.web.hq.journey_graph import journey_svg
from omniretail.web.session import container_of

router = APIRouter(prefix="/hq/journeys", route_class=PageRoute, include_in_schema=False)
PAGE = "/hq/journeys"
EDIT = "POST /console/journeys/edit"
HEAD = ("code", "name", "description")
NOT_FIELDS = ("csrf_token", "op", "confirm")
RUNS_SHOWN = 20
RESERVED = ("new", "classics")  # the console's own paths under /hq/journeys
Verb = Literal["publish", "pause", "resume", "archive"]
DONE = {
    "publish": "Version {version} is live; customers on their way keep the version they began.",
    "pause": "Paused: no one enters and no step runs; everyone keeps their place.",
    "resume": "Live again: runs go on from where they were.",
    "archive": "Archived: its active runs have ended; the results stay.",
}


def _code(code: str) -> str:
    return code[:60]


def _posted(values: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in journey_form.values_of(values).items() if k not in NOT_FIELDS}


def _choices(uow: UnitOfWork) -> dict[str, Any]:
    """The editor's suggestions: trigger events, message codes, segments."""
    return {
        "events": sorted({event.type for event in marketing.TRIGGER_EVENTS}),
        "messages": [m.code for m in marketing.list_messages(uow)],
        "segments": [(s.id, s.name) for s in marketing.list_segments(uow)],
    }


# --- the list and the classics -----------------------------------------------------------------


def _list(
    request: Request, viewer: Viewer, *, errors: Errors | None = None, status: int = 200
) -> HTMLResponse:
    def load(uow: UnitOfWork) -> dict[str, Any]:
        return {
            "journeys": marketing.list_journeys(uow),
            "figures": marketing.journey_figures(uow),
        }

    context = read(request, load)
    installed = {j.code for j in context["journeys"]}
    return render(
        request,
        "hq/journeys.html",
        viewer=viewer,
        status=status,
        errors=errors or {},
        classics=marketing.CLASSICS,
        installed=installed,
        **context,
    )


@router.get("", response_class=HTMLResponse)
def journeys_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /marketing/journeys")
    return _list(request, viewer)


@router.post("/classics", response_model=None)
def install_classic(request: Request, posted: PostedDep) -> Response:
    """A classic as a draft journey with the messages (and segment, coupon promotions) it
    needs: decided as each API operation it stands for."""
    code = posted.get("classic")[:60]
    spec = next((c for c in marketing.CLASSICS if c.code == code), None)
    viewer = posted.viewer
    first = spec.messages[0] if spec and spec.messages else None
    body: Any = first.model_dump(mode="json") if first else None
    decisions = [authorize_as(request, viewer, "POST /marketing/messages", None, body)]
    if spec and spec.segment:
        body = spec.segment.model_dump(mode="json")
        decisions.append(authorize_as(request, viewer, "POST /marketing/segments", None, body))
    for promotion in spec.promotions if spec else ():
        params = {"code": promotion.code}
        decisions.append(
            authorize_as(request, viewer, "PUT /pricing/promotions/{code}", params, None)
        )
    body = {"code": code, "name": spec.name if spec else "", "description": ""}
    decisions.append(authorize_as(request, viewer, "POST /marketing/journeys", None, body))
    actor = viewer.principal.actor
    site_url = container_of(request).settings.public_base_url
    try:
        made = change(
            request,
            decisions,
            lambda uow: marketing.install_classic(uow, code, actor=actor, site_url=site_url),
        )
    except DomainError as exc:
        return _list(request, viewer, errors=errors_of(exc, {"code": GENERAL}), status=exc.status)
    return redirect(
        f"{PAGE}/{made.code}",
        notice=f"{made.name} is installed as a draft: review it, then publish it.",
    )


# --- the editor --------------------------------------------------------------------------------


def _editor(
    request: Request, values: dict[str, str], errors: Errors | None, *, base: str
) -> dict[str, Any]:
    choices = read(request, _choices)
    return journey_form.editor(values, errors, action=base, edit_url=f"{base}/edit", **choices)


def _new(
    request: Request,
    viewer: Viewer,
    values: dict[str, str],
    *,
    errors: Errors | None = None,
    status: int = 200,
    fragment: bool = False,
) -> HTMLResponse:
    context = _editor(request, values, errors, base=f"{PAGE}/new")
    template = "hq/_journey_form.html" if fragment else "hq/journey.html"
    return render(
        request, template, viewer=viewer, status=status, journey=None, naming=True, **context
    )


@router.get("/new", response_class=HTMLResponse)
def new_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "POST /marketing/journeys")
    return _new(request, viewer, journey_form.new_fields())


@router.post("/new/edit", response_model=None)
def new_edit(request: Request, posted: PostedDep) -> Response:
    """The editor's buttons on a new journey: the form re-drawn, nothing saved."""
    authorize_as(request, posted.viewer, EDIT)
    values = journey_form.apply(_posted(posted.values), posted.get("op"))
    htmx = request.headers.get("hx-request") == "true"
    return _new(request, posted.viewer, values, fragment=htmx)


def _head_errors(head: dict[str, str]) -> Errors:
    if head["code"] in RESERVED:
        return {"code": "This code names a console page; choose another."}
    try:
        JourneyCreate.model_validate({**head, "definition": None})
    except ValidationError as exc:
        return {k: v for k, v in errors_of(exc).items() if k in HEAD}
    return {}


@router.post("/new", response_model=None)
def create_journey(request: Request, posted: PostedDep) -> Response:
    values = _posted(posted.values)
    definition, errors = journey_form.definition_of(values)
    head = {name: values.get(name, "").strip() for name in HEAD}
    data = definition.model_dump(mode="json") if definition else None
    body = {**head, "definition": data}
    decided = authorize_as(request, posted.viewer, "POST /marketing/journeys", None, body)
    errors = {**_head_errors(head), **errors}
    if errors or definition is None:
        return _new(request, posted.viewer, values, errors=errors, status=422)
    actor = posted.viewer.principal.actor
    try:
        made = change(
            request,
            decided,
            lambda uow: marketing.create_journey(
                uow, JourneyCreate.model_validate(body), actor=actor
            ),
        )
    except DomainError as exc:
        errors = journey_form.domain_errors(exc)
        return _new(request, posted.viewer, values, errors=errors, status=exc.status)
    return redirect(f"{PAGE}/{made.code}", notice=f"{made.name} is saved as a draft.")


# --- one journey -------------------------------------------------------------------------------


def _journey(
    request: Request,
    viewer: Viewer,
    code: str,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    problem: str = "",
    confirm: bool = False,
    status: int = 200,
    fragment: bool = False,
) -> HTMLResponse:
    if fragment and values is not None:  # the editor's buttons: only the form, re-drawn
        context = _editor(request, values, errors, base=f"{PAGE}/{code}")
        return render(request, "hq/_journey_form.html", viewer=viewer, **context)
    vault = vault_for(container_of(request).keyring)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        journey = marketing.get_journey(uow, code)
        runs = marketing.recent_runs(uow, code, limit=RUNS_SHOWN)
        names: dict[int, str] = {}
        for customer_id in {r.customer_id for r in runs}:
            try:
                name = customers.get_customer(uow, customer_id, vault=vault).name
            except DomainError:
                name = None
            names[customer_id] = marketing.mask_name(name)
        return {
            "journey": journey,
            "versions": marketing.versions(uow, code),
            "runs": runs,
            "names": names,
            "figures": marketing.journey_figures(uow, journey.id).get(journey.id),
        }

    context = read(request, load)
    journey = context["journey"]
    base = f"{PAGE}/{journey.code}"
    if viewer.can("marketing:write") and journey.status != "archived":
        shown = values if values is not None else journey_form.fields_of(journey.definition)
        context.update(_editor(request, shown, errors, base=base))
    else:
        context["graph"] = _drawing(journey.definition, journey.name)
    return render(
        request,
        "hq/journey.html",
        viewer=viewer,
        status=status,
        problem=problem,
        confirm=confirm,
        shown_runs=RUNS_SHOWN,
        **context,
    )


def _drawing(definition: JourneyDefinition, name: str) -> Any:
    return journey_svg(definition, title=name, dom_id="journey-newest")


@router.get("/{code}", response_class=HTMLResponse)
def journey_page(request: Request, viewer: HqDep, code: str) -> HTMLResponse:
    code = _code(code)
    for operation in ("", "/versions", "/runs"):
        authorize_as(
            request, viewer, f"GET /marketing/journeys/{{code}}{operation}", {"code": code}
        )
    return _journey(request, viewer, code)


@router.post("/{code}/edit", response_model=None)
def journey_edit(request: Request, posted: PostedDep, code: str) -> Response:
    """The editor's buttons: the form re-drawn, nothing saved."""
    code = _code(code)
    authorize_as(request, posted.viewer, EDIT)
    values = journey_form.apply(_posted(posted.values), posted.get("op"))
    htmx = request.headers.get("hx-request") == "true"
    return _journey(request, posted.viewer, code, values=values, fragment=htmx)


@router.post("/{code}", response_model=None)
def save_draft(request: Request, posted: PostedDep, code: str) -> Response:
    code = _code(code)
    values = _posted(posted.values)
    definition, errors = journey_form.definition_of(values)
    body = definition.model_dump(mode="json") if definition else None
    decided = authorize_as(
        request, posted.viewer, "PUT /marketing/journeys/{code}/draft", {"code": code}, body
    )
    if errors or definition is None:
        return _journey(request, posted.viewer, code, values=values, errors=errors, status=422)
    actor = posted.viewer.principal.actor
    try:
        saved = change(
            request,
            decided,
            lambda uow: marketing.save_draft(uow, code, definition, actor=actor),
        )
    except DomainError as exc:
        errors = journey_form.domain_errors(exc)
        status = exc.status
        return _journey(request, posted.viewer, code, values=values, errors=errors, status=status)
    unpublished = saved.latest_version != saved.live_version
    after = " (a draft until you publish it)" if unpublished else ""
    return redirect(f"{PAGE}/{code}", notice=f"Version {saved.latest_version} is saved{after}.")


def _act(request: Request, posted: PostedDep, code: str, verb: Verb) -> Response:
    code = _code(code)
    decided = authorize_as(
        request, posted.viewer, f"POST /marketing/journeys/{{code}}/{verb}", {"code": code}
    )
    if verb == "archive" and posted.get("confirm") != "yes":
        return _journey(request, posted.viewer, code, confirm=True)
    actor = posted.viewer.principal.actor
    steps = {
        "publish": lambda uow: marketing.publish(uow, code, actor=actor),
        "pause": lambda uow: marketing.pause(uow, code),
        "resume": lambda uow: marketing.resume(uow, code),
        "archive": lambda uow: marketing.archive(uow, code),
    }
    try:
        journey = change(request, decided, steps[verb])
    except DomainError as exc:
        return _journey(request, posted.viewer, code, problem=exc.detail, status=exc.status)
    return redirect(f"{PAGE}/{code}", notice=DONE[verb].format(version=journey.live_version))


@router.post("/{code}/publish", response_model=None)
def publish(request: Request, posted: PostedDep, code: str) -> Response:
    return _act(request, posted, code, "publish")


@router.post("/{code}/pause", response_model=None)
def pause(request: Request, posted: PostedDep, code: str) -> Response:
    return _act(request, posted, code, "pause")


@router.post("/{code}/resume", response_model=None)
def resume(request: Request, posted: PostedDep, code: str) -> Response:
    return _act(request, posted, code, "resume")


@router.post("/{code}/archive", response_model=None)
def archive(request: Request, posted: PostedDep, code: str) -> Response:
    """Asks first (it ends every active run); ``confirm=yes`` archives."""
    return _act(request, posted, code, "archive")
