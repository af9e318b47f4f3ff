"""HQ promotions: the list (in force, scheduled, paused, ended; each one's uses, discount
and revenue), the editor (a CEL condition
checked on save, with the variables it may name; an effect form built from the effect schemas
in ``pricing.schemas``, so a new effect type gets its form), pause and resume, uses and revenue
(``processes.promotion_uses``), and a cart to try it on (the API's quote)."""

from __future__ import annotations

import json
import types
import typing
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from omniretail.catalog import service as catalog
from omniretail.catalog.service import ChannelKind
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError, InvalidRequest, NotFound
from omniretail.kernel.limits import loads_json
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import (
    Effect,
    PromotionRead,
    PromotionWrite,
    QuoteRead,
    QuoteRequest,
)
from omniretail.processes.promotion_uses import UsesTotal, promotion_uses, uses_of_promotions
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
from omniretail.web.forms import Errors, body_of, convert, errors_of
from omniretail.web.hq.pricing import state_of, window_body, window_values

router = APIRouter(prefix="/hq/pricing", route_class=PageRoute, include_in_schema=False)
TRY_LINES = 3


def effect_forms() -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Each effect type with its fields (name, input kind, description), read from the
    ``Effect`` union: a type added to the schemas appears here with no change."""
    union = typing.get_args(typing.get_args(Effect)[0])
    forms = []
    for model in union:
        kind = typing.get_args(model.model_fields["type"].annotation)[0]
        fields = []
        for name, info in model.model_fields.items():
            if name == "type":
                continue
            fields.append((name, _input_kind(info.annotation), info.description or ""))
        forms.append((kind, fields))
    return forms


def _input_kind(annotation: Any) -> str:
    """``number`` for amounts and counts, ``list`` for lists of codes (comma separated),
    ``json`` for models and lists of models (tiers), ``text`` otherwise."""
    base = _bare(annotation)
    if typing.get_origin(base) is list:
        args = typing.get_args(base)
        return "json" if args and _is_model(_bare(args[0])) else "list"
    if base in (int, float, Decimal):
        return "number"
    return "json" if _is_model(base) else "text"


def _bare(annotation: Any) -> Any:
    """``Annotated[int, ...] | None`` -> ``int``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _bare(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _bare(kinds[0]) if len(kinds) == 1 else annotation
    return annotation


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def effect_of(values: dict[str, str]) -> dict[str, Any]:
    """The chosen effect type's fields (``<type>.<field>`` inputs) as the effect JSON."""
    kind = values.get("effect_type", "").strip()
    effect: dict[str, Any] = {"type": kind}
    for name, input_kind, _ in dict(effect_forms()).get(kind, []):
        text = values.get(f"{kind}.{name}", "").strip()
        if not text:
            continue
        if input_kind == "list":
            effect[name] = [p.strip() for p in text.split(",") if p.strip()]
        elif input_kind == "json":
            try:
                effect[name] = loads_json(text)
            except json.JSONDecodeError as exc:
                raise InvalidRequest(f"not valid JSON: {exc.msg}", field=f"effect.{name}") from exc
        elif input_kind == "number":
            effect[name] = convert(text, int if text.isdigit() else Decimal)
        else:
            effect[name] = text
    return effect


def effect_values(effect: dict[str, Any]) -> dict[str, str]:
    kind = str(effect.get("type", ""))
    values = {"effect_type": kind}
    for name, value in effect.items():
        if name == "type":
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            values[f"{kind}.{name}"] = ", ".join(value)
        elif isinstance(value, list | dict):
            values[f"{kind}.{name}"] = json.dumps(value)
        else:
            values[f"{kind}.{name}"] = str(value)
    return values


def promotion_body(values: dict[str, str]) -> dict[str, Any]:
    body = body_of(PromotionWrite, window_body(values))
    body.pop("effect", None)
    body["effect"] = effect_of(values)
    return body


def promo_errors(exc: ValidationError | DomainError, kind: str) -> Errors:
    """Messages by input: an effect's field beside its input of the chosen type
    (``percent_off.percent``), anything else about the effect beside the type."""
    errors = errors_of(exc)
    inputs = {f"{kind}.{name}" for name, _, _ in dict(effect_forms()).get(kind, [])}
    for key in [k for k in errors if k.startswith("effect")]:
        rest = key.removeprefix("effect").lstrip(".")
        target = next((t for t in (rest, f"{kind}.{rest}") if t in inputs), None)
        if target is not None:
            errors[target] = errors.pop(key)
        else:
            errors["effect_type"] = f"{rest}: {errors.pop(key)}".strip(": ")
    return errors


# --- the list and the editor -------------------------------------------------------------------


@router.get("/promotions", response_class=HTMLResponse)
def promotions_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /pricing/promotions")

    def load(uow: UnitOfWork) -> tuple[list[PromotionRead], dict[str, list[UsesTotal]], Any]:
        promotions = pricing.list_promotions(uow)
        return promotions, uses_of_promotions(uow, promotions), uow.now

    promotions, uses, now = read(request, load)
    return render(
        request,
        "hq/promotions.html",
        viewer=viewer,
        promotions=[(p, state_of(p.valid_from, p.valid_to, p.active, now)) for p in promotions],
        uses=uses,
    )


def _page(
    request: Request,
    viewer: Viewer,
    code: str | None,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    quote: QuoteRead | None = None,
    status: int = 200,
) -> HTMLResponse:
    def load(uow: UnitOfWork) -> dict[str, Any]:
        found: dict[str, Any] = {"channels": catalog.list_channels(uow), "now": uow.now}
        if code is not None:
            found["promotion"] = pricing.get_promotion(uow, code)
            found["uses"] = promotion_uses(uow, code)
            found["coupons"] = pricing.list_coupons(uow, promotion=code, limit=50)
        return found

    context = {"promotion": None, "uses": None, "coupons": [], **read(request, load)}
    promotion: PromotionRead | None = context["promotion"]
    defaults: dict[str, str] = {"priority": "0", "active": "on", "effect_type": "percent_off"}
    if promotion is not None:
        defaults = {
            "code": promotion.code,
            "name": promotion.name,
            "condition": promotion.condition or "",
            "currency": promotion.currency or "",
            "priority": str(promotion.priority),
            **effect_values(promotion.effect),
            **window_values(promotion),
            **{
                k: "on" for k in ("active", "exclusive", "requires_coupon") if getattr(promotion, k)
            },
        }
    if values is not None:
        for box in ("active", "exclusive", "requires_coupon"):
            defaults.pop(box, None)
    web = [c for c in context["channels"] if c.kind == ChannelKind.WEB] or context["channels"]
    defaults.setdefault("try.channel", web[0].code if web else "")
    return render(
        request,
        "hq/promotion.html",
        viewer=viewer,
        status=status,
        values={**defaults, **(values or {})},
        errors=errors or {},
        effect_forms=effect_forms(),
        variables=pricing.condition_variables(),
        state=state_of(promotion.valid_from, promotion.valid_to, promotion.active, context["now"])
        if promotion
        else None,
        quote=quote,
        try_lines=TRY_LINES,
        **context,
    )


@router.get("/promotions/new", response_class=HTMLResponse)
def new_promotion(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /pricing/promotions")
    return _page(request, viewer, None)


@router.get("/promotions/{code}", response_class=HTMLResponse)
def promotion_page(request: Request, viewer: HqDep, code: str) -> HTMLResponse:
    authorize_as(request, viewer, "GET /pricing/promotions/{code}", {"code": code})
    return _page(request, viewer, code.upper()[:60])


@router.post("/promotions", response_model=None)
def save_promotion(request: Request, posted: PostedDep) -> Response:
    values = posted.values
    code = posted.get("code").upper()[:60]
    existing = posted.get("existing").upper()[:60] or None
    try:
        body = promotion_body(values)
    except DomainError as exc:
        body = {}
        problem: DomainError | None = exc
    else:
        problem = None
    decided = authorize_as(
        request, posted.viewer, "PUT /pricing/promotions/{code}", {"code": code}, body
    )

    def save(uow: UnitOfWork) -> object:
        if problem is not None:
            raise problem
        if not code:
            raise InvalidRequest("Give the promotion a code.", field="code")
        data = PromotionWrite.model_validate(body)
        return pricing.save_promotion(uow, code, data, actor=posted.viewer.principal.actor)

    return submit(
        request,
        decided,
        save,
        done=lambda _: redirect(
            f"/hq/pricing/promotions/{code}", notice=f"Promotion {code} saved."
        ),
        failed=lambda errors, status: _page(
            request, posted.viewer, existing, values=values, errors=errors, status=status
        ),
        errors=lambda exc: promo_errors(exc, values.get("effect_type", "").strip()),
    )


@router.post("/promotions/{code}/{action}", response_model=None)
def pause_or_resume(request: Request, posted: PostedDep, code: str, action: str) -> Response:
    code = code.upper()[:60]
    if action not in ("pause", "resume", "delete"):
        raise NotFound(f"no such action: {action[:20]}")
    operation = (
        "DELETE /pricing/promotions/{code}"
        if action == "delete"
        else f"POST /pricing/promotions/{{code}}/{action}"
    )
    decided = authorize_as(request, posted.viewer, operation, {"code": code})
    actor = posted.viewer.principal.actor
    if action == "delete":
        change(request, decided, lambda uow: pricing.delete_promotion(uow, code, actor=actor))
        return redirect("/hq/pricing/promotions", notice=f"Promotion {code} deleted.")
    active = action == "resume"
    change(
        request, decided, lambda uow: pricing.set_promotion_active(uow, code, active, actor=actor)
    )
    return redirect(
        f"/hq/pricing/promotions/{code}",
        notice=f"Promotion {code} {'resumed' if active else 'paused'}.",
    )


# --- try a cart ----------------------------------------------------------------------------------


@router.post("/try", response_model=None)
def try_cart(request: Request, posted: PostedDep) -> Response:
    """Prices the lines as the channel's cart would now (nothing is stored)."""
    values = posted.values
    lines = []
    for i in range(TRY_LINES):
        sku = values.get(f"try.line{i}.sku", "").strip()
        if sku:
            lines.append(
                {"sku": sku, "quantity": convert(values.get(f"try.line{i}.quantity", "1"), int)}
            )
    body: dict[str, Any] = {"channel": posted.get("try.channel"), "lines": lines}
    coupon = posted.get("try.coupon")
    if coupon:
        body["coupons"] = [coupon]
    authorize_as(request, posted.viewer, "POST /pricing/quote", None, body)
    code = posted.get("existing").upper()[:60] or None
    htmx = request.headers.get("hx-request") == "true"
    try:
        quote = read(request, lambda uow: pricing.quote(uow, QuoteRequest.model_validate(body)))
    except (ValidationError, DomainError) as exc:
        errors = {"try": "; ".join(errors_of(exc).values())}
        if htmx:
            return render(request, "hq/_quote.html", viewer=posted.viewer, errors=errors)
        return _page(request, posted.viewer, code, values=values, errors=errors, status=422)
    if htmx:
        return render(request, "hq/_quote.html", viewer=posted.viewer, quote=quote)
    return _page(request, posted.viewer, code, values=values, quote=quote)
