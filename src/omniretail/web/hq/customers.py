"""HQ customer 360: look-up by email, phone, loyalty card or id, search by name or
postcode; identities, timeline,
consents, loyalty, segment, CLV and recommendations; merge and undo a merge."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.catalog import service as catalog
from omniretail.customers import service as customers
from omniretail.customers.schemas import CustomerSearch, MergeCreate, UndoMerge
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import service as fulfilment
from omniretail.intelligence import service as intelligence
from omniretail.kernel.errors import DomainError
from omniretail.kernel.vault import vault_for
from omniretail.loyalty import service as loyalty
from omniretail.orders import service as orders
from omniretail.pricing import service as pricing
from omniretail.processes import customer360
from omniretail.processes import merges as merge_process
from omniretail.web.deps import (
    HqDep,
    PageRoute,
    Posted,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    read,
    redirect,
    render,
)
from omniretail.web.forms import Errors, body_of, errors_of
from omniretail.web.hq.export import csv_response
from omniretail.web.lookup import find_customer_id
from omniretail.web.session import container_of

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
LOOKUP_KINDS = [
    ("email", "Email"),
    ("phone", "Phone"),
    ("name", "Name"),
    ("postcode", "Postcode"),
    ("loyalty_card", "Loyalty card"),
    ("id", "Customer id"),
]
SEARCH_KINDS = ("name", "postcode")


@router.get("/customers", response_class=HTMLResponse)
def lookup_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "POST /customers/lookup")
    reviews = (
        read(request, lambda uow: customers.list_reviews(uow, status="open", limit=20))
        if viewer.can("customers:merge")
        else []
    )
    return render(
        request,
        "hq/customers.html",
        viewer=viewer,
        kinds=LOOKUP_KINDS,
        reviews=reviews,
        values={"kind": "email"},
    )


@router.post("/customers/lookup", response_model=None)
def lookup(request: Request, posted: PostedDep) -> Response:
    """A POST, so that the email or phone never lands in a URL or an access log."""
    if posted.get("kind") in SEARCH_KINDS:
        return _search(request, posted)
    body = {"kind": posted.get("kind"), "value": posted.get("value")}
    authorize_as(request, posted.viewer, "POST /customers/lookup", body=body)
    try:
        found = find_customer_id(request, posted.get("kind"), posted.get("value"))
    except DomainError as exc:
        return render(
            request,
            "hq/customers.html",
            viewer=posted.viewer,
            status=exc.status,
            kinds=LOOKUP_KINDS,
            reviews=[],
            values=posted.values,
            errors=errors_of(exc, {"customer_id": "value", "email": "value", "phone": "value"}),
        )
    return redirect(f"/hq/customers/{found}")


def _search(request: Request, posted: Posted) -> Response:
    """By name or postcode through the keyed search indexes (``customers.service.search``);
    one match opens the profile, several are listed; ``format=csv`` downloads the list (a
    POST too, so the name is never in a URL)."""
    body = {"by": posted.get("kind"), "value": posted.get("value")}
    authorize_as(request, posted.viewer, "POST /customers/search", body=body)
    vault = vault_for(container_of(request).keyring)
    try:
        query = CustomerSearch.model_validate(body)
        found = read(
            request,
            lambda uow: customers.search_customers(uow, query.by, query.value, vault=vault),
        )
    except (ValidationError, DomainError) as exc:
        return render(
            request,
            "hq/customers.html",
            viewer=posted.viewer,
            status=422,
            kinds=LOOKUP_KINDS,
            reviews=[],
            values=posted.values,
            errors=errors_of(exc, {"by": "kind"}, fields=("kind", "value")),
        )
    if posted.get("format") == "csv":
        return csv_response(
            "customers.csv",
            ["id", "name", "postcode", "city", "home_store", "customer_number"],
            ([c.id, c.name, c.postcode, c.city, c.home_store, c.customer_number] for c in found),
        )
    if len(found) == 1:
        return redirect(f"/hq/customers/{found[0].id}")
    return render(
        request,
        "hq/customers.html",
        viewer=posted.viewer,
        kinds=LOOKUP_KINDS,
        reviews=[],
        values=posted.values,
        results=found,
    )


def _customer_page(
    request: Request,
    viewer: Viewer,
    customer_id: int,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    form: str = "",
    status: int = 200,
) -> HTMLResponse:
    container = container_of(request)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        view = customer360.customer_360(uow, customer_id, vault=vault_for(container.keyring))
        root = view.customer.id
        timeline = customers.timeline(uow, root, limit=30)
        scores = intelligence.get_customer_scores(uow, root, 5)
        fresh = intelligence.new_for_you(uow, root, 5)
        # Amounts in the currency of what they count: an order's is its channel's.
        currencies = {c.code: c.currency for c in catalog.list_channels(uow)}
        people = customers.cluster(uow, root)
        home = view.customer.home_store
        return {
            "view": view,
            # Named as the other pages name a location; a code no location has stays as is.
            "home_store": catalog.get_location(uow, home)
            if home and catalog.location_exists(uow, home)
            else None,
            "currencies": currencies,
            "house_currency": pricing.CATALOG_CURRENCY,
            "spend": [(s.currency, s.spend) for s in view.lifetime_spend_by_currency],
            "points_currency": loyalty.rules(uow).currency,
            "timeline": timeline,
            # Order activity may name an order of another system (a till's receipt): no page.
            # A platform order shows its amount and where it is now (the timeline's amount is
            # net of cancellations, for the spend figures).
            "known_orders": {
                o.number: o
                for o in orders.orders_by_numbers(
                    uow, [a.reference for a in timeline if a.kind == "order" and a.reference]
                )
            },
            # A return is named by its order and what came back, not by its id.
            "known_returns": fulfilment.refunds_by_return_id(
                uow,
                people,
                [a.reference for a in timeline if a.kind == "return" and a.reference],
            ),
            "scores": scores,
            "new_for_you": fresh,
            "names": catalog.sku_names(
                uow, [r.sku for r in [*scores.recommendations, *(fresh or [])]]
            ),
            "merge_list": customers.list_merges(uow, people),
        }

    return render(
        request,
        "hq/customer.html",
        viewer=viewer,
        status=status,
        errors=errors or {},
        values=values or {},
        form=form,
        **read(request, load),
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_360(request: Request, viewer: HqDep, customer_id: int) -> HTMLResponse:
    authorize_as(request, viewer, "GET /customers/{customer_id}/360", {"customer_id": customer_id})
    return _customer_page(request, viewer, customer_id)


@router.post("/customers/{customer_id}/merge", response_model=None)
def merge(request: Request, posted: PostedDep, customer_id: int) -> Response:
    actor = posted.viewer.principal.actor
    data = body_of(MergeCreate, posted.values, survivor_id=customer_id)
    decided = authorize_as(request, posted.viewer, "POST /customers/merges", body=data)
    try:
        body = MergeCreate.model_validate(data)
        done = change(
            request,
            decided,
            lambda uow: customers.merge_customers(
                uow,
                body.survivor_id,
                body.merged_id,
                rule="manual",
                reason=body.reason,
                actor=actor,
            ),
        )
    except (ValidationError, DomainError) as exc:
        return _customer_page(
            request,
            posted.viewer,
            customer_id,
            errors=errors_of(exc, {"customer_id": "merged_id"}),
            values=posted.values,
            form="merge",
            status=422,
        )
    return redirect(f"/hq/customers/{done.survivor_id}", notice=f"Merged #{done.merged_id} here.")


@router.post("/customers/{customer_id}/merges/{merge_id}/undo", response_model=None)
def undo(request: Request, posted: PostedDep, customer_id: int, merge_id: int) -> Response:
    actor = posted.viewer.principal.actor
    data = body_of(UndoMerge, posted.values)
    decided = authorize_as(
        request,
        posted.viewer,
        "POST /customers/merges/{merge_id}/undo",
        {"merge_id": merge_id},
        data,
    )
    try:
        body = UndoMerge.model_validate(data)
        change(
            request,
            decided,
            lambda uow: merge_process.undo_merge_and_settle(uow, merge_id, body, actor=actor),
        )
    except (ValidationError, DomainError) as exc:
        return _customer_page(
            request,
            posted.viewer,
            customer_id,
            errors=errors_of(exc),
            values=posted.values,
            form=f"undo{merge_id}",
            status=422,
        )
    return redirect(f"/hq/customers/{customer_id}", notice="Merge undone.")
