"""A signed-in customer's delivery address and "my store" (the profile's ``home_store``),
changed as ``PATCH /customers/{customer_id}`` changes them (the address is stored encrypted)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import LocationRead
from omniretail.customers import service as customers
from omniretail.customers.schemas import Address, CustomerUpdate
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.vault import vault_for
from omniretail.web.deps import (
    CustomerDep,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    customer_viewer,
    read,
    redirect,
    render,
)
from omniretail.web.forms import errors_of
from omniretail.web.session import container_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)
UK = "United Kingdom"
# The UK postcode format (outward code, space optional, inward code).
UK_POSTCODE = re.compile(r"^(GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})$")
OTHER_POSTCODE = re.compile(r"^[A-Z0-9][A-Z0-9 -]{1,9}$")
ADDRESS_FIELDS = ("line1", "line2", "city", "postcode", "country")


def _stores(uow: UnitOfWork) -> list[LocationRead]:
    return [s for s in catalog.list_locations(uow, "store") if s.active]


def matching(stores: list[LocationRead], q: str) -> list[LocationRead]:
    """Stores whose name, code or address (town, postcode) contain every word of ``q``."""
    words = q.lower().replace(",", " ").split()
    if not words:
        return stores
    compact = [w.replace(" ", "") for w in words]
    found = []
    for s in stores:
        text = f"{s.code} {s.name} {s.address or ''}".lower()
        if all(w in text or w in text.replace(" ", "") for w in compact):
            found.append(s)
    return found


def _page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    customer_id = viewer.principal.customer_id
    assert customer_id is not None
    vault = vault_for(container_of(request).keyring)
    q = request.query_params.get("q", "")[:80]

    def load(uow: UnitOfWork) -> dict[str, Any]:
        return {
            "profile": customers.get_customer(uow, customer_id, vault=vault),
            "stores": _stores(uow),
        }

    loaded = read(request, load)
    profile = loaded["profile"]
    if values is None:
        current = profile.address.model_dump() if profile.address else {"country": UK}
        values = {k: str(v) for k, v in current.items() if v is not None}
    home = next((s for s in loaded["stores"] if s.code == profile.home_store), None)
    template = (
        "shop/stores_found.html" if request.headers.get("hx-request") else "shop/details.html"
    )
    return render(
        request,
        template,
        viewer=viewer,
        status=status,
        values=values,
        errors=errors or {},
        home=home,
        q=q,
        found=matching(loaded["stores"], q),
    )


@router.get("/account/details", response_class=HTMLResponse)
def details(request: Request, viewer: CustomerDep) -> HTMLResponse:
    return _page(request, viewer)


def postcode_error(postcode: str, country: str) -> str | None:
    code = " ".join(postcode.upper().split())
    if country.strip().lower() in ("united kingdom", "uk", "great britain"):
        if not UK_POSTCODE.match(code):
            return "Enter a UK postcode, like SW1A 1AA."
    elif not OTHER_POSTCODE.match(code):
        return "Enter the postcode as letters and digits."
    return None


@router.post("/account/details/address", response_model=None)
def save_address(request: Request, posted: PostedDep) -> Response:
    viewer = customer_viewer(request)
    customer_id = viewer.principal.customer_id
    values = {k: posted.get(k) for k in ADDRESS_FIELDS}
    values["postcode"] = " ".join(values["postcode"].upper().split())
    raw = {k: v for k, v in values.items() if v}
    errors: dict[str, str] = {}
    try:
        address = Address.model_validate(raw)
    except ValidationError as exc:
        errors = errors_of(exc, fields=ADDRESS_FIELDS)
    else:
        wrong = postcode_error(address.postcode, address.country)
        if wrong:
            errors["postcode"] = wrong
    if errors:
        return _page(request, viewer, values=values, errors=errors, status=422)
    body = {"address": address.model_dump(mode="json")}
    decided = authorize_as(
        request, viewer, "PATCH /customers/{customer_id}", {"customer_id": customer_id}, body
    )
    vault, actor = vault_for(container_of(request).keyring), viewer.principal.actor
    assert customer_id is not None
    try:
        change(
            request,
            decided,
            lambda uow: customers.update_customer(
                uow, customer_id, CustomerUpdate(address=address), vault=vault, actor=actor
            ),
        )
    except DomainError as exc:
        return _page(request, viewer, values=values, errors=errors_of(exc), status=exc.status)
    return redirect("/account/details", notice="Your delivery address is saved.")


@router.post("/account/details/store", response_model=None)
def save_store(request: Request, posted: PostedDep) -> Response:
    viewer = customer_viewer(request)
    customer_id = viewer.principal.customer_id
    assert customer_id is not None
    code = posted.get("store").upper()
    stores = read(request, _stores)
    chosen = next((s for s in stores if s.code == code), None)
    if chosen is None:
        errors = {"__all__": "Choose one of the stores in the list."}
        return _page(request, viewer, errors=errors, status=422)
    body = {"home_store": chosen.code}
    decided = authorize_as(
        request, viewer, "PATCH /customers/{customer_id}", {"customer_id": customer_id}, body
    )
    vault, actor = vault_for(container_of(request).keyring), viewer.principal.actor
    change(
        request,
        decided,
        lambda uow: customers.update_customer(
            uow, customer_id, CustomerUpdate(home_store=chosen.code), vault=vault, actor=actor
        ),
    )
    return redirect("/account/details", notice=f"{chosen.name} is now your store.")
