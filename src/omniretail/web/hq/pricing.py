"""HQ pricing: price lists (priority, scope, validity window: a list that starts later is a
scheduled price change), their entries (search by SKU, set, remove, paste a CSV), and taxes
(classes, rates per country with validity dates, a product's tax class). Each form is the
API's ``/pricing/...`` operation, decided and audited as the API does (``web.deps``)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import InvalidRequest
from omniretail.kernel.limits import whole_number
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import (
    PriceEntryRead,
    PriceEntryWrite,
    PriceListRead,
    PriceListWrite,
    ProductTaxClassWrite,
    TaxClassWrite,
    TaxRateRead,
    TaxRateWrite,
)
from omniretail.web.deps import (
    HqDep,
    NotAllowed,
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
from omniretail.web.forms import Errors, body_of, errors_of

router = APIRouter(prefix="/hq/pricing", route_class=PageRoute, include_in_schema=False)
WINDOW_FIELDS = ("valid_from", "valid_to")
MAX_CSV_LINES = 1000


def window_body(values: dict[str, str]) -> dict[str, str]:
    """The form's ``datetime-local`` window fields (UTC, as the form says) as timestamps."""
    out = dict(values)
    for name in WINDOW_FIELDS:
        text = out.get(name, "").strip()
        if text and "T" in text and not text.endswith("Z") and "+" not in text[10:]:
            out[name] = text + ("" if text.count(":") > 1 else ":00") + "+00:00"
        elif text and "T" not in text:
            out[name] = text + "T00:00:00+00:00"
    return out


def window_values(row: Any) -> dict[str, str]:
    """A stored window as the form's ``datetime-local`` values (UTC)."""
    return {
        name: getattr(row, name).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
        for name in WINDOW_FIELDS
        if getattr(row, name) is not None
    }


def state_of(
    valid_from: datetime | None, valid_to: datetime | None, active: bool, now: datetime
) -> str:
    """In force now, scheduled, ended or paused: what the list and promotion pages show."""
    if not active:
        return "paused"
    if valid_to is not None and valid_to <= now:
        return "ended"
    if valid_from is not None and valid_from > now:
        return "scheduled"
    return "in force"


# --- price lists -----------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def lists_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /pricing/price-lists")
    lists, now = read(request, lambda uow: (pricing.list_price_lists(uow), uow.now))
    return render(
        request,
        "hq/pricing.html",
        viewer=viewer,
        lists=[(p, state_of(p.valid_from, p.valid_to, p.active, now)) for p in lists],
    )


def _list_page(
    request: Request,
    viewer: Viewer,
    code: str | None,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    sku = request.query_params.get("sku", "").strip().upper()[:40] or None

    def load(uow: UnitOfWork) -> dict[str, Any]:
        found: dict[str, Any] = {
            "channels": catalog.list_channels(uow),
            "locations": catalog.list_locations(uow),
            "now": uow.now,
        }
        if code is not None:
            found["price_list"] = pricing.get_price_list(uow, code)
            found["entries"] = pricing.list_entries(uow, code, sku)[:200]
        return found

    context = {"price_list": None, "entries": [], **read(request, load)}
    price_list: PriceListRead | None = context["price_list"]
    defaults: dict[str, str] = {"currency": "GBP", "priority": "0", "active": "on"}
    if price_list is not None:
        defaults = {
            "code": price_list.code,
            "name": price_list.name,
            "currency": price_list.currency,
            "priority": str(price_list.priority),
            "channel": price_list.channel or "",
            "location": price_list.location or "",
            "customer_tier": price_list.customer_tier or "",
            "customer_segment": price_list.customer_segment or "",
            **window_values(price_list),
            **({"active": "on"} if price_list.active else {}),
        }
    if values is not None and "active" not in values:
        defaults.pop("active", None)
    return render(
        request,
        "hq/price_list.html",
        viewer=viewer,
        status=status,
        values={**defaults, **(values or {})},
        errors=errors or {},
        sku=sku or "",
        state=state_of(
            price_list.valid_from, price_list.valid_to, price_list.active, context["now"]
        )
        if price_list
        else None,
        **context,
    )


@router.get("/price-lists/new", response_class=HTMLResponse)
def new_list(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /pricing/price-lists")
    return _list_page(request, viewer, None)


@router.get("/price-lists/{code}", response_class=HTMLResponse)
def list_page(request: Request, viewer: HqDep, code: str) -> HTMLResponse:
    authorize_as(request, viewer, "GET /pricing/price-lists/{code}", {"code": code})
    return _list_page(request, viewer, code.upper()[:60])


@router.post("/price-lists", response_model=None)
def save_list(request: Request, posted: PostedDep) -> Response:
    values = posted.values
    code = posted.get("code").upper()[:60]
    body = body_of(PriceListWrite, window_body(values))
    decided = authorize_as(
        request, posted.viewer, "PUT /pricing/price-lists/{code}", {"code": code}, body
    )
    existing = posted.get("existing") or None

    def save(uow: UnitOfWork) -> object:
        if not code:
            raise InvalidRequest("Give the list a code.", field="code")
        data = PriceListWrite.model_validate(body)
        return pricing.save_price_list(uow, code, data, actor=posted.viewer.principal.actor)

    return submit(
        request,
        decided,
        save,
        done=lambda _: redirect(
            f"/hq/pricing/price-lists/{code}", notice=f"Price list {code} saved."
        ),
        failed=lambda errors, status: _list_page(
            request, posted.viewer, existing, values=values, errors=errors, status=status
        ),
    )


@router.post("/price-lists/{code}/delete", response_model=None)
def delete_list(request: Request, posted: PostedDep, code: str) -> Response:
    code = code.upper()[:60]
    decided = authorize_as(
        request, posted.viewer, "DELETE /pricing/price-lists/{code}", {"code": code}
    )
    change(
        request,
        decided,
        lambda uow: pricing.delete_price_list(uow, code, actor=posted.viewer.principal.actor),
    )
    return redirect("/hq/pricing", notice=f"Price list {code} deleted.")


@router.post("/price-lists/{code}/entries", response_model=None)
def set_entry(request: Request, posted: PostedDep, code: str) -> Response:
    code = code.upper()[:60]
    sku = posted.get("sku").upper()[:40]
    body = body_of(PriceEntryWrite, posted.values)
    decided = authorize_as(
        request,
        posted.viewer,
        "PUT /pricing/price-lists/{code}/entries/{sku}",
        {"code": code, "sku": sku},
        body,
    )

    def save(uow: UnitOfWork) -> PriceEntryRead:
        if not sku:
            raise InvalidRequest("Enter a SKU.", field="sku")
        data = PriceEntryWrite.model_validate(body)
        return pricing.set_entry(uow, code, sku, data, actor=posted.viewer.principal.actor)

    return submit(
        request,
        decided,
        save,
        done=lambda entry: redirect(
            f"/hq/pricing/price-lists/{code}", notice=f"{entry.sku} costs {entry.price} in {code}."
        ),
        failed=lambda errors, status: _list_page(
            request, posted.viewer, code, values=posted.values, errors=errors, status=status
        ),
    )


@router.post("/price-lists/{code}/entries/{sku}/remove", response_model=None)
def remove_entry(request: Request, posted: PostedDep, code: str, sku: str) -> Response:
    code, sku = code.upper()[:60], sku.upper()[:40]
    decided = authorize_as(
        request,
        posted.viewer,
        "DELETE /pricing/price-lists/{code}/entries/{sku}",
        {"code": code, "sku": sku},
    )
    change(
        request,
        decided,
        lambda uow: pricing.remove_entry(uow, code, sku, actor=posted.viewer.principal.actor),
    )
    return redirect(f"/hq/pricing/price-lists/{code}", notice=f"{sku} removed from {code}.")


@router.post("/price-lists/{code}/entries/upload", response_model=None)
def upload_entries(request: Request, posted: PostedDep, code: str) -> Response:
    """Pasted CSV lines ``sku,price`` (a header line is skipped): each is the API's PUT of the
    entry, all in one transaction (one bad line refuses them all)."""
    code = code.upper()[:60]
    rows: list[tuple[str, dict[str, Any]]] = []
    errors: Errors = {}
    text = posted.get("csv")
    for n, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not cells or not "".join(cells).strip():
            continue
        if n == 1 and cells[0].strip().lower() == "sku":
            continue
        if len(cells) != 2 or len(rows) >= MAX_CSV_LINES:
            errors["csv"] = f"line {n}: write sku,price (at most {MAX_CSV_LINES} lines)"
            break
        rows.append((cells[0].strip().upper()[:40], body_of(PriceEntryWrite, {"price": cells[1]})))
    if not rows and not errors:
        errors["csv"] = "Paste at least one line: sku,price"
    decisions = [
        authorize_as(
            request,
            posted.viewer,
            "PUT /pricing/price-lists/{code}/entries/{sku}",
            {"code": code, "sku": sku},
            body,
        )
        for sku, body in rows
    ]
    actor = posted.viewer.principal.actor

    def save(uow: UnitOfWork) -> object:
        if errors:
            raise InvalidRequest(errors["csv"], field="csv")
        parsed = [(sku, PriceEntryWrite.model_validate(body)) for sku, body in rows]
        return [pricing.set_entry(uow, code, s, d, actor=actor) for s, d in parsed]

    return submit(
        request,
        decisions,
        save,
        done=lambda _: redirect(
            f"/hq/pricing/price-lists/{code}", notice=f"{len(rows)} prices set in {code}."
        ),
        failed=lambda found, status: _list_page(
            request,
            posted.viewer,
            code,
            values=posted.values,
            errors={"csv": "; ".join(found.values())},
            status=status,
        ),
    )


# --- taxes -------------------------------------------------------------------------------------


def _taxes_page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    country = request.query_params.get("country", "").strip().upper()[:2] or None

    def load(uow: UnitOfWork) -> dict[str, Any]:
        return {
            "classes": pricing.list_tax_classes(uow),
            "rates": pricing.list_tax_rates(uow, country),
        }

    context = read(request, load)
    editing = request.query_params.get("edit", "")
    if values is None and (edit_id := whole_number(editing)) is not None:
        rate = next((r for r in context["rates"] if r.id == edit_id), None)
        if rate is not None:
            values = {
                "rate_id": str(rate.id),
                "country": rate.country,
                "tax_class": rate.tax_class,
                "name": rate.name,
                "rate": str(rate.rate),
                **window_values(rate),
            }
    return render(
        request,
        "hq/taxes.html",
        viewer=viewer,
        status=status,
        values=values or {},
        errors=errors or {},
        country=country or "",
        **context,
    )


@router.get("/taxes", response_class=HTMLResponse)
def taxes_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /pricing/tax-rates")
    return _taxes_page(request, viewer)


@router.post("/taxes/classes", response_model=None)
def save_tax_class(request: Request, posted: PostedDep) -> Response:
    code = posted.get("class_code").lower()[:20]
    body = {"name": posted.get("class_name")}
    decided = authorize_as(
        request, posted.viewer, "PUT /pricing/tax-classes/{code}", {"code": code}, body
    )

    def save(uow: UnitOfWork) -> object:
        if not code:
            raise InvalidRequest("Give the class a code.", field="class_code")
        data = TaxClassWrite.model_validate(body)
        return pricing.save_tax_class(uow, code, data, actor=posted.viewer.principal.actor)

    return submit(
        request,
        decided,
        save,
        done=lambda _: redirect("/hq/pricing/taxes", notice=f"Tax class {code} saved."),
        failed=lambda errors, status: _taxes_page(
            request, posted.viewer, values=posted.values, errors=errors, status=status
        ),
        errors=lambda exc: errors_of(exc, {"name": "class_name"}),
    )


@router.post("/taxes/rates", response_model=None)
def save_tax_rate(request: Request, posted: PostedDep) -> Response:
    """A new rate, or (``rate_id``) a change of one: ending a rate is giving it a ``valid_to``."""
    rate_id = whole_number(posted.get("rate_id"))
    if rate_id is None and posted.get("rate_id"):
        raise NotAllowed("No such tax rate.", status=404)
    body = body_of(TaxRateWrite, window_body(posted.values))
    if rate_id is not None:
        decided = authorize_as(
            request,
            posted.viewer,
            "PUT /pricing/tax-rates/{rate_id}",
            {"rate_id": rate_id},
            body,
        )
    else:
        decided = authorize_as(request, posted.viewer, "POST /pricing/tax-rates", None, body)
    actor = posted.viewer.principal.actor

    def save(uow: UnitOfWork) -> TaxRateRead:
        data = TaxRateWrite.model_validate(body)
        if rate_id is not None:
            return pricing.update_tax_rate(uow, rate_id, data, actor=actor)
        return pricing.add_tax_rate(uow, data, actor=actor)

    return submit(
        request,
        decided,
        save,
        done=lambda saved: redirect(
            "/hq/pricing/taxes",
            notice=f"{saved.name} ({saved.country}, {saved.tax_class}) at {saved.rate:.2%} saved.",
        ),
        failed=lambda errors, status: _taxes_page(
            request,
            posted.viewer,
            values=posted.values,
            errors={**errors, **RATE_IN_WORDS}
            if "rate" in errors and posted.get("rate")
            else errors,
            status=status,
        ),
    )


RATE_IN_WORDS = {"rate": "A fraction from 0 to below 1: 0.2 for 20 %, 0.05 for 5 %"}


@router.post("/taxes/products", response_model=None)
def set_product_tax_class(request: Request, posted: PostedDep) -> Response:
    product = posted.get("product").upper()[:40]
    body = body_of(ProductTaxClassWrite, {"tax_class": posted.get("product_tax_class")})
    decided = authorize_as(
        request, posted.viewer, "PUT /pricing/products/{code}/tax-class", {"code": product}, body
    )

    def save(uow: UnitOfWork) -> ProductTaxClassWrite:
        if not product:
            raise InvalidRequest("Enter a product code.", field="product")
        data = ProductTaxClassWrite.model_validate(body)
        pricing.set_product_tax_class(uow, product, data, actor=posted.viewer.principal.actor)
        return data

    return submit(
        request,
        decided,
        save,
        done=lambda data: redirect(
            "/hq/pricing/taxes", notice=f"{product} is taxed as {data.tax_class}."
        ),
        failed=lambda errors, status: _taxes_page(
            request, posted.viewer, values=posted.values, errors=errors, status=status
        ),
        errors=lambda exc: errors_of(exc, {"tax_class": "product_tax_class"}),
    )
