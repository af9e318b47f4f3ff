""" "Tell me when it's back": a signed-in customer asks to hear when an item out of stock at
their store is there again (``POST /customers/{customer_id}/stock-alerts``); answered with
the button's replacement for HTMX, else a redirect to the product."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from omniretail.catalog import service as catalog
from omniretail.customers import service as customers
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import StockAlertCreate
from omniretail.web.deps import (
    PageRoute,
    PostedDep,
    authorize_as,
    change,
    customer_viewer,
    read,
    redirect,
    render,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.post("/shop/products/{sku}/alert", response_model=None)
def tell_me(request: Request, sku: str, posted: PostedDep) -> Response:
    viewer = customer_viewer(request)
    customer_id = viewer.principal.customer_id
    assert customer_id is not None
    sku = sku.strip().upper()[:40]
    home = read(
        request, lambda uow: customers.get_customer(uow, customer_id, vault=uow.vault).home_store
    )
    body = StockAlertCreate(sku=sku, store=home)
    decided = authorize_as(
        request,
        viewer,
        "POST /customers/{customer_id}/stock-alerts",
        {"customer_id": customer_id},
        body.model_dump(),
    )
    alert = change(
        request, decided, lambda uow: marketing.create_stock_alert(uow, customer_id, body)
    )
    if request.headers.get("hx-request") != "true":
        return redirect(f"/shop/products/{quote(sku)}", notice="We'll tell you when it's back.")
    mine = read(request, lambda uow: catalog.get_location(uow, alert.store))
    return render(
        request,
        "shop/_stock_alert.html",
        viewer=viewer,
        mine=mine,
        alert_waiting=True,
        item={"code": sku},
    )
