"""The shop's public pages: products searched by name or code, page by page, and a product's
availability at "my store" and stores nearby, online stock and the fulfilment options with
their promise dates (the routing the API's options and checkout use)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from omniretail.carts import service as options
from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import SkuRead
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.marketing import service as marketing
from omniretail.pricing import service as pricing
from omniretail.routing.service import policy_from
from omniretail.web.deps import MaybeViewerDep, PageRoute, Viewer, read, render
from omniretail.web.forms import Errors
from omniretail.web.session import container_of
from omniretail.web.shop.shopping import (
    NEAR_KM,
    customer_id_of,
    home_store,
    pick_area,
    web_channel,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE = 24


@router.get("/shop", response_class=HTMLResponse)
def shop(
    request: Request,
    viewer: MaybeViewerDep,
    q: str = Query("", max_length=100),
    page: int = Query(1, ge=1, le=10_000),
) -> HTMLResponse:
    query = q.strip() or None
    customer_id = customer_id_of(viewer)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        home = home_store(request, uow, customer_id)
        mine = catalog.get_location(uow, home) if home else None
        found = inventory.search_skus_stocked_first(
            uow,
            location=mine.code if mine else None,
            query=query,
            offset=(page - 1) * PAGE,
            limit=PAGE + 1,
        )
        skus = found[:PAGE]
        at_mine: dict[str, int] = {}
        if mine is not None and skus:
            for row in inventory.availability(uow, [s.code for s in skus], locations=[mine.code]):
                at_mine[row.sku] = row.available
        currency, prices = _prices(uow, web_channel(uow), skus, customer_id)
        return {
            "skus": skus,
            "more": len(found) > PAGE,
            "mine": mine,
            "at_mine": at_mine,
            "currency": currency,
            "prices": prices,
        }

    return render(request, "shop/index.html", viewer=viewer, q=q, page=page, **read(request, load))


@router.get("/shop/products/{sku}", response_class=HTMLResponse)
def product(request: Request, viewer: MaybeViewerDep, sku: str, near: str = "") -> HTMLResponse:
    return product_page(request, viewer, sku, near)


def product_page(
    request: Request,
    viewer: Viewer | None,
    sku: str,
    near: str = "",
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    sku = sku.strip().upper()
    policy = policy_from(container_of(request).settings)
    customer_id = customer_id_of(viewer)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        item = catalog.get_sku(uow, sku)
        stores = catalog.list_locations(uow, "store")
        area, mine = pick_area(stores, near, home_store(request, uow, customer_id))
        channel = web_channel(uow)
        stock = {
            row.location: row.available for row in inventory.availability(uow, [sku])[0].locations
        }
        currency, prices = _prices(uow, channel, [item], customer_id)
        found: dict[str, Any] = {
            "item": item,
            "currency": currency,
            "price": prices[item.code],
            "stores": stores,
            "area": area,
            "mine": mine,
            "at_mine": stock.get(mine.code, 0) if mine else None,
            "nearby": [],
            "alert_waiting": bool(
                customer_id and mine and marketing.waiting_alert(uow, customer_id, sku, mine.code)
            ),
        }
        if area is not None:
            found["nearby"] = inventory.nearby_stock(
                uow, sku, area.latitude, area.longitude, radius_km=NEAR_KM, limit=10
            )
        if channel is not None:
            found["online"] = inventory.availability(uow, [sku], channel=channel)[0].available
            found["options"] = options.options_for_sku(
                uow,
                sku,
                1,
                channel=channel,
                latitude=area.latitude if area else None,
                longitude=area.longitude if area else None,
                policy=policy,
                radius_km=NEAR_KM,
            ).options
        return found

    return render(
        request,
        "shop/product.html",
        viewer=viewer,
        status=status,
        values={"quantity": "1", **(values or {})},
        errors=errors or {},
        can_buy=customer_id is not None,
        **read(request, load),
    )


def _prices(
    uow: UnitOfWork, channel: str | None, skus: list[SkuRead], customer_id: int | None
) -> tuple[str, dict[str, Decimal | None]]:
    """What the shop charges for each SKU before promotions, in its channel's currency (the
    catalog price while there is no channel)."""
    if channel is None:
        return pricing.CATALOG_CURRENCY, {s.code: s.price for s in skus}
    codes = [s.code for s in skus]
    return pricing.shelf_prices(uow, channel, codes, customer_id=customer_id)
