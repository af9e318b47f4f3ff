"""Channel price lists: a SKU's price on a channel, falling back to the SKU's list price."""

from __future__ import annotations

from omniretail.carts import repository as repo
from omniretail.carts.errors import NoPrice
from omniretail.carts.events import PriceRemoved, PriceSet
from omniretail.carts.schemas import PriceRead, PriceWrite
from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork


def set_price(
    uow: UnitOfWork, sku: str, channel: str, data: PriceWrite, *, actor: str
) -> PriceRead:
    catalog.get_sku(uow, sku)
    catalog.channel_settings(uow, channel)
    repo.upsert_price(uow.session, sku, channel, data.price, uow.now)
    uow.record(PriceSet(sku=sku, channel=channel, price=str(data.price), actor=actor))
    return PriceRead(sku=sku, channel=channel, price=data.price, updated_at=uow.now)


def delete_price(uow: UnitOfWork, sku: str, channel: str, *, actor: str) -> None:
    if not repo.delete_price(uow.session, sku, channel):
        raise NoPrice(f"no price list entry for {sku} on {channel}", field="sku")
    uow.record(PriceRemoved(sku=sku, channel=channel, actor=actor))


def list_prices(uow: UnitOfWork, sku: str | None, channel: str | None) -> list[PriceRead]:
    return [
        PriceRead(sku=r.sku_code, channel=r.channel_code, price=r.price, updated_at=r.updated_at)
        for r in repo.list_prices(uow.session, sku, channel)
    ]
