"""Each channel's own prices (``/prices/{sku}/{channel}``): entries of the channel's price
list in ``pricing`` (``CHANNEL:<code>``); without one, other lists or the SKU's catalog price
apply."""

from __future__ import annotations

from omniretail.carts.errors import NoPrice
from omniretail.carts.events import PriceRemoved, PriceSet
from omniretail.carts.schemas import PriceRead, PriceWrite
from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.pricing import service as pricing


def set_price(
    uow: UnitOfWork, sku: str, channel: str, data: PriceWrite, *, actor: str
) -> PriceRead:
    catalog.get_sku(uow, sku)
    entry = pricing.set_channel_price(uow, channel, sku, data.price, actor=actor)
    uow.record(PriceSet(sku=sku, channel=channel, price=str(data.price), actor=actor))
    return PriceRead(sku=sku, channel=channel, price=entry.price, updated_at=entry.updated_at)


def delete_price(uow: UnitOfWork, sku: str, channel: str, *, actor: str) -> None:
    if not pricing.remove_channel_price(uow, channel, sku):
        raise NoPrice(f"no price list entry for {sku} on {channel}", field="sku")
    uow.record(PriceRemoved(sku=sku, channel=channel, actor=actor))


def list_prices(uow: UnitOfWork, sku: str | None, channel: str | None) -> list[PriceRead]:
    return [
        PriceRead(sku=s, channel=c, price=p, updated_at=u)
        for s, c, p, u in pricing.channel_prices(uow, sku, channel)
    ]
