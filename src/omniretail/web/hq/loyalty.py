"""HQ loyalty programme: its state (``loyalty.service.programme_overview``, as
``GET /loyalty/overview``) above its settings (earn rate, point value, windows and tiers).
Saving stores a new version of the rules (``loyalty.service.save_programme``), as
``PUT /loyalty/programme``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.kernel.errors import DomainError
from omniretail.kernel.money import SYMBOLS
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import ProgrammeRead, ProgrammeRules
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
from omniretail.web.forms import Errors, convert, errors_of

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
SCALARS = (
    "points_per_unit",
    "point_value",
    "welcome_points",
    "return_window_days",
    "expiry_days",
    "qualification_days",
    "birthday_on_file_days",
)
TIER_ROWS = 5


def _values(rules: ProgrammeRules) -> dict[str, str]:
    values = {name: str(getattr(rules, name)) for name in SCALARS}
    for i, tier in enumerate(rules.tiers):
        values[f"tier{i}.name"] = tier.name
        values[f"tier{i}.threshold"] = str(tier.threshold)
        values[f"tier{i}.multiplier"] = str(tier.multiplier)
    return values


def _page(
    request: Request,
    viewer: Viewer,
    programme: ProgrammeRead,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "hq/loyalty.html",
        viewer=viewer,
        status=status,
        programme=programme,
        overview=read(request, loyalty.programme_overview),
        values=values or _values(programme.rules),
        errors=errors or {},
        tier_rows=TIER_ROWS,
        # the programme's amounts (points value, tier spend) are in its currency
        symbol=SYMBOLS.get(programme.rules.currency, programme.rules.currency + " "),
    )


@router.get("/loyalty", response_class=HTMLResponse)
def programme_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /loyalty/programme")
    authorize_as(request, viewer, "GET /loyalty/overview")
    return _page(request, viewer, read(request, loyalty.get_programme))


@router.post("/loyalty", response_model=None)
def save(request: Request, posted: PostedDep) -> Response:
    decided = authorize_as(request, posted.viewer, "PUT /loyalty/programme")
    current = read(request, loyalty.get_programme)
    data: dict[str, Any] = current.rules.model_dump(mode="json")
    values = posted.values
    for name in SCALARS:
        data[name] = values.get(name, "").strip()
    tiers: list[dict[str, str]] = []
    rename: dict[str, str] = {}
    for i in range(TIER_ROWS):
        name = values.get(f"tier{i}.name", "").strip()
        if name or values.get(f"tier{i}.threshold", "").strip():
            for key in ("name", "threshold", "multiplier"):
                rename[f"tiers.{len(tiers)}.{key}"] = f"tier{i}.{key}"
            tiers.append(
                {
                    "name": name,
                    "threshold": values.get(f"tier{i}.threshold", "").strip(),
                    "multiplier": values.get(f"tier{i}.multiplier", "").strip() or "1",
                }
            )
    data["tiers"] = tiers
    rename["tiers"] = "tier0.name"
    try:
        rules = ProgrammeRules.model_validate(
            {k: convert(v, int) if k.endswith(("_days", "_points")) else v for k, v in data.items()}
        )
        saved = change(
            request,
            decided,
            lambda uow: loyalty.save_programme(uow, rules, actor=posted.viewer.principal.actor),
        )
    except (ValidationError, DomainError) as exc:
        errors = errors_of(exc, rename)
        if "__all__" in errors and isinstance(exc, ValidationError):
            errors["tier0.threshold"] = errors.pop("__all__")
        return _page(request, posted.viewer, current, values=values, errors=errors, status=422)
    return redirect("/hq/loyalty", notice=f"Programme version {saved.version} is active.")
