"""The shop's public pages: products, and a product's availability near you (stores nearby,
online stock and the fulfilment options with their promise dates)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from omniretail.carts import service as options
from omniretail.catalog import service as catalog
from omniretail.catalog.service import ChannelKind
from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.kernel.vault import vault_for
from omniretail.routing.service import policy_from
from omniretail.web.deps import MaybeViewerDep, PageRoute, read, render
from omniretail.web.session import container_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)
NEAR_KM = 50.0


@router.get("/shop", response_class=HTMLResponse)
def shop(request: Request, viewer: MaybeViewerDep, q: str = "") -> HTMLResponse:
    skus = read(request, lambda uow: catalog.list_skus(uow, limit=24, query=q.strip() or None))
    return render(request, "shop/index.html", viewer=viewer, q=q, skus=skus)


def _web_channel(uow: UnitOfWork) -> str | None:
    channels = catalog.list_channels(uow)
    web = [c for c in channels if c.kind == ChannelKind.WEB] or channels
    return web[0].code if web else None


@router.get("/shop/products/{sku}", response_class=HTMLResponse)
def product(request: Request, viewer: MaybeViewerDep, sku: str, near: str = "") -> HTMLResponse:
    sku = sku.strip().upper()
    policy = policy_from(container_of(request).settings)
    vault = vault_for(container_of(request).keyring)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        item = catalog.get_sku(uow, sku)
        stores = catalog.list_locations(uow, "store")
        area = next((s for s in stores if s.code == near.strip().upper()), None)
        if area is None and viewer is not None and viewer.principal.customer_id is not None:
            home = customers.get_customer(uow, viewer.principal.customer_id, vault=vault).home_store
            area = next((s for s in stores if s.code == home), None)
        area = area or (stores[0] if stores else None)
        channel = _web_channel(uow)
        found: dict[str, Any] = {"item": item, "stores": stores, "area": area, "nearby": []}
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

    return render(request, "shop/product.html", viewer=viewer, **read(request, load))
