from __future__ import annotations

from omniretail.kernel.events import DomainEvent


def product_created(product_code: str, sku_codes: list[str]) -> DomainEvent:
    return DomainEvent("catalog.product_created", f"products/{product_code}", {"skus": sku_codes})


def channel_saved(channel_code: str, data: dict[str, object]) -> DomainEvent:
    return DomainEvent("catalog.channel_saved", f"channels/{channel_code}", dict(data))


def location_saved(location_code: str, data: dict[str, object]) -> DomainEvent:
    return DomainEvent("catalog.location_saved", f"locations/{location_code}", dict(data))
