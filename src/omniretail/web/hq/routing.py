"""HQ routing: the rules editor (the rules are versioned data) with the simulator beside it.
The simulator can try the draft in the editor before it is saved."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.catalog import service as catalog
from omniretail.catalog.service import ChannelKind
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.limits import loads_json
from omniretail.routing import service as planning
from omniretail.routing.schemas import DecisionRead, RoutingSimulate, RuleSetWrite
from omniretail.routing.service import FulfilmentMethod, RuleSet
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
from omniretail.web.forms import Errors, errors_of
from omniretail.web.forms import convert as convert_text

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
SIM_LINES = 3


def _context(request: Request) -> dict[str, Any]:
    def load(uow: UnitOfWork) -> dict[str, Any]:
        current = planning.get_rules(uow)
        return {
            "current": current,
            "versions": planning.list_rules(uow, limit=10),
            "channels": catalog.list_channels(uow),
            "locations": catalog.list_locations(uow),
        }

    return read(request, load)


def _page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    decision: DecisionRead | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = _context(request)
    current = context["current"]
    defaults = {
        "name": current.name,
        "rules": json.dumps(current.rules.model_dump(mode="json"), indent=2),
        "method": FulfilmentMethod.SHIP_TO_HOME.value,
        "line0.quantity": "1",
    }
    web = [c for c in context["channels"] if c.kind == ChannelKind.WEB] or context["channels"]
    if web:
        defaults["channel"] = web[0].code
    return render(
        request,
        "hq/routing.html",
        viewer=viewer,
        status=status,
        values={**defaults, **(values or {})},
        errors=errors or {},
        decision=decision,
        channel_options=[(c.code, f"{c.code} · {c.name}") for c in context["channels"]],
        method_options=[(m.value, m.value.replace("_", " ")) for m in FulfilmentMethod],
        # Only where a customer can collect: a warehouse is never a pickup point.
        location_options=[
            (loc.code, f"{loc.code} · {loc.name}")
            for loc in context["locations"]
            if loc.active and (loc.capabilities.pickup or loc.capabilities.ship_to_store_target)
        ],
        sim_lines=SIM_LINES,
        **context,
    )


@router.get("/routing", response_class=HTMLResponse)
def rules_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /routing/rules")
    return _page(request, viewer)


def _draft(text: str) -> RuleSet:
    """The editor's JSON as rules; a JSON syntax error is reported like a schema error."""
    try:
        data = loads_json(text)
    except json.JSONDecodeError as exc:
        raise DomainError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", field="rules"
        ) from exc
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        raise DomainError(_rule_errors(exc)["rules"], field="rules") from exc


def _rule_errors(exc: ValidationError | DomainError) -> Errors:
    """Schema errors inside the rules are shown on the editor, naming the path in the JSON."""
    if isinstance(exc, DomainError):
        field = exc.field or "__all__"
        return {"rules" if field.startswith("rules") else field: exc.detail}
    messages = []
    for error in exc.errors():
        path = ".".join(str(p) for p in error.get("loc", ()))
        messages.append(f"{path}: {str(error.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return {"rules": "; ".join(messages[:5])}


@router.post("/routing/simulate", response_model=None)
def simulate(request: Request, posted: PostedDep) -> Response:
    authorize_as(request, posted.viewer, "POST /routing/simulate")
    values = posted.values
    htmx = request.headers.get("hx-request") == "true"
    try:
        body = _simulation(values)
    except (ValidationError, DomainError) as exc:
        errors = (
            _rule_errors(exc)
            if isinstance(exc, DomainError) and exc.field == "rules"
            else _sim_errors(exc)
        )
        if htmx:
            return render(request, "hq/_decision.html", viewer=posted.viewer, errors=errors)
        return _page(request, posted.viewer, values=values, errors=errors, status=422)
    try:
        decision = read(request, lambda uow: planning.simulate(uow, body))
    except DomainError as exc:
        errors = errors_of(exc, {"location": "pickup_location", "channel": "channel"})
        if htmx:
            return render(request, "hq/_decision.html", viewer=posted.viewer, errors=errors)
        return _page(request, posted.viewer, values=values, errors=errors, status=exc.status)
    if htmx:
        return render(request, "hq/_decision.html", viewer=posted.viewer, decision=decision)
    return _page(request, posted.viewer, values=values, decision=decision)


def _simulation(values: dict[str, str]) -> RoutingSimulate:
    lines = []
    for i in range(SIM_LINES):
        sku = values.get(f"line{i}.sku", "").strip()
        if sku:
            lines.append(
                {"sku": sku, "quantity": convert_text(values.get(f"line{i}.quantity", "1"), int)}
            )
    data: dict[str, Any] = {
        "channel": values.get("channel", ""),
        "method": values.get("method") or FulfilmentMethod.SHIP_TO_HOME.value,
        "lines": lines,
        "exclude": [c.strip() for c in values.get("exclude", "").split(",") if c.strip()],
    }
    for name in ("latitude", "longitude"):
        if values.get(name, "").strip():
            data[name] = convert_text(values[name].strip(), float)
    if values.get("pickup_location", "").strip():
        data["pickup_location"] = values["pickup_location"].strip()
    if values.get("use_draft"):
        data["rules"] = _draft(values.get("rules", ""))
    return RoutingSimulate.model_validate(data)


def _sim_errors(exc: ValidationError | DomainError) -> Errors:
    rename = {
        f"lines.{i}.{k}": f"line{i}.{k}" for i in range(SIM_LINES) for k in ("sku", "quantity")
    }
    rename["lines"] = "line0.sku"
    errors = errors_of(exc, rename)
    if "__all__" in errors and isinstance(exc, ValidationError):
        errors["latitude"] = errors.pop("__all__")
    return errors


@router.post("/routing/rules", response_model=None)
def save(request: Request, posted: PostedDep) -> Response:
    decided = authorize_as(request, posted.viewer, "PUT /routing/rules")
    values = posted.values
    try:
        rules = _draft(values.get("rules", ""))
        body = RuleSetWrite(name=values.get("name", "").strip(), rules=rules)
        saved = change(
            request,
            decided,
            lambda uow: planning.save_rules(uow, body, actor=posted.viewer.principal.actor),
        )
    except ValidationError as exc:
        named = any(e.get("loc", ("",))[0] == "name" for e in exc.errors())
        errors = {"name": "Give the rules a name."} if named else _rule_errors(exc)
        return _page(request, posted.viewer, values=values, errors=errors, status=422)
    except DomainError as exc:
        return _page(
            request, posted.viewer, values=values, errors=_rule_errors(exc), status=exc.status
        )
    return redirect("/hq/routing", notice=f"Routing rules version {saved.version} is in force.")
