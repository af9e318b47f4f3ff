"""HQ dynamic pricing: the rules (create, edit, pause, resume), a preview of a run (what would
change now, and why) and the change log with its explanations, where a change can be reverted.
Each form is authorised as its API route (``/dynamic-pricing/...``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from omniretail.api.params import IdPath
from omniretail.catalog import service as catalog
from omniretail.intelligence.schemas import DynamicRuleRead, DynamicRuleWrite
from omniretail.intelligence.service import dynamic_pricing
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
    submit,
)
from omniretail.web.forms import Errors, errors_of

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
PAGE = "/hq/dynamic-pricing"
FIELDS = (
    "code",
    "name",
    "channel",
    "condition",
    "percent",
    "priority",
    "floor_amount",
    "floor_percent",
    "ceiling_amount",
    "ceiling_percent",
    "max_step_percent",
)
OPTIONAL = FIELDS[5:]
SHOWN = 100


def _values(rule: DynamicRuleRead | None) -> dict[str, str]:
    if rule is None:
        return {"priority": "0"}
    data = rule.model_dump()
    return {name: "" if data.get(name) is None else str(data[name]) for name in FIELDS}


def _page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    preview: Any = None,
    status: int = 200,
) -> HTMLResponse:
    rules = read(request, dynamic_pricing.list_rules)
    changes = read(request, lambda uow: dynamic_pricing.list_changes(uow, limit=SHOWN))
    channels = read(request, catalog.list_channels)
    shown = [c.sku for c in changes] + [p.sku for p in getattr(preview, "proposals", [])]
    names = read(request, lambda uow: catalog.sku_names(uow, shown))
    edit = request.query_params.get("edit", "").upper()
    editing = next((r for r in rules if r.code == edit), None)
    return render(
        request,
        "hq/dynamic_pricing.html",
        viewer=viewer,
        status=status,
        rules=rules,
        changes=changes,
        channels=[(c.code, c.name) for c in channels],
        values=values if values is not None else _values(editing),
        errors=errors or {},
        preview=preview,
        names=names,
    )


@router.get("/dynamic-pricing", response_class=HTMLResponse)
def dynamic_pricing_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /dynamic-pricing/rules")
    return _page(request, viewer)


@router.post("/dynamic-pricing/rules", response_model=None)
def save_rule(request: Request, posted: PostedDep) -> Response:
    values = {name: posted.get(name) for name in FIELDS}
    code = values["code"].upper()
    data: dict[str, Any] = {k: v for k, v in values.items() if k != "code"}
    for name in OPTIONAL:
        if not data[name]:
            data.pop(name)
    data["condition"] = data["condition"] or None
    data["active"] = posted.get("active", "on") == "on"
    decided = authorize_as(
        request, posted.viewer, "PUT /dynamic-pricing/rules/{code}", {"code": code}, data
    )
    return submit(
        request,
        decided,
        lambda uow: dynamic_pricing.save_rule(uow, code, DynamicRuleWrite.model_validate(data)),
        done=lambda _: redirect(PAGE, notice=f"Rule {code} saved."),
        failed=lambda errors, _: _page(
            request, posted.viewer, values=values, errors=errors, status=422
        ),
        errors=lambda exc: errors_of(exc, fields=FIELDS),
    )


@router.post("/dynamic-pricing/rules/{code}/{action}", response_model=None)
def pause_or_resume(request: Request, code: str, action: str, posted: PostedDep) -> Response:
    if action not in ("pause", "resume"):
        return redirect(PAGE, notice="Unknown action.")
    code = code.upper()[:60]
    decided = authorize_as(
        request, posted.viewer, f"POST /dynamic-pricing/rules/{{code}}/{action}", {"code": code}
    )
    change(
        request,
        decided,
        lambda uow: dynamic_pricing.set_rule_active(uow, code, action == "resume"),
    )
    return redirect(PAGE, notice=f"Rule {code} {'resumed' if action == 'resume' else 'paused'}.")


@router.post("/dynamic-pricing/preview", response_class=HTMLResponse)
def preview(request: Request, posted: PostedDep) -> HTMLResponse:
    authorize_as(request, posted.viewer, "POST /dynamic-pricing/preview", body={})
    actor = posted.viewer.principal.actor
    result = read(request, lambda uow: dynamic_pricing.run(uow, actor=actor, dry_run=True))
    return _page(request, posted.viewer, preview=result)


@router.post("/dynamic-pricing/changes/{change_id}/revert", response_model=None)
def revert(request: Request, change_id: IdPath, posted: PostedDep) -> Response:
    decided = authorize_as(
        request,
        posted.viewer,
        "POST /dynamic-pricing/changes/{change_id}/revert",
        {"change_id": change_id},
    )
    actor = posted.viewer.principal.actor
    reverted = change(
        request, decided, lambda uow: dynamic_pricing.revert_change(uow, change_id, actor=actor)
    )
    return redirect(
        PAGE, notice=f"{reverted.sku} on {reverted.channel} is back at {reverted.old_price}."
    )
