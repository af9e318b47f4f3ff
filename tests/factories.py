"""Small builders for test data through the services (never raw inserts)."""

from __future__ import annotations

from omniretail.bootstrap import Container
from omniretail.catalog import service as catalog
from omniretail.catalog.models import ChannelKind, LocationKind
from omniretail.catalog.schemas import (
    Capabilities,
    ChannelWrite,
    LocationWrite,
    ProductCreate,
    SkuCreate,
)
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import StockChange

STORES = {
    "DC1": ("Distribution centre", LocationKind.WAREHOUSE, 52.4862, -1.8904),
    "LON1": ("London Oxford St", LocationKind.STORE, 51.5154, -0.1410),
    "LON2": ("London Camden", LocationKind.STORE, 51.5390, -0.1426),
    "MAN1": ("Manchester Arndale", LocationKind.STORE, 53.4831, -2.2399),
}


def make_network(
    container: Container, skus: list[str] | None = None, *, web_ttl_seconds: int = 900
) -> None:
    skus = skus or ["10001", "10002"]
    with container.uow() as uow:
        for code, (name, kind, lat, lon) in STORES.items():
            catalog.save_location(
                uow,
                LocationWrite(
                    code=code,
                    name=name,
                    kind=kind,
                    latitude=lat,
                    longitude=lon,
                    capabilities=Capabilities(
                        ships_to_home=True, pickup=kind == LocationKind.STORE
                    ),
                    daily_capacity=100,
                ),
            )
        catalog.save_channel(
            uow,
            ChannelWrite(
                code="WEB",
                name="Web shop",
                kind=ChannelKind.WEB,
                reservation_ttl_seconds=web_ttl_seconds,
                location_codes=list(STORES),
            ),
        )
        catalog.save_channel(
            uow,
            ChannelWrite(
                code="POS",
                name="Store tills",
                kind=ChannelKind.STORE_POS,
                location_codes=["LON1", "LON2", "MAN1"],
            ),
        )
        catalog.create_product(
            uow,
            ProductCreate(
                code="P1",
                name="Test product",
                skus=[SkuCreate(code=s, name=f"Item {s}") for s in skus],
            ),
        )


def receive(container: Container, sku: str, location: str, quantity: int) -> None:
    with container.uow() as uow:
        inventory.receive_stock(
            uow, StockChange(sku=sku, location=location, quantity=quantity), actor="test"
        )
