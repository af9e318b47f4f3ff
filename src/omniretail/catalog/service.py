"""Catalog use cases. Services never commit; the caller's unit of work does."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from omniretail.catalog import events, repository
from omniretail.catalog.codes import PRODUCT_CODE_PATTERN as PRODUCT_CODE_PATTERN
from omniretail.catalog.codes import is_product_code as is_product_code
from omniretail.catalog.codes import non_product_kind as non_product_kind
from omniretail.catalog.codes import normalise_code as normalise_code
from omniretail.catalog.errors import (
    DuplicateCode,
    UnknownChannel,
    UnknownLocation,
    UnknownProduct,
    UnknownSku,
)
from omniretail.catalog.models import Channel, Location, Product, Sku
from omniretail.catalog.models import ChannelKind as ChannelKind
from omniretail.catalog.models import LocationKind as LocationKind
from omniretail.catalog.schemas import (
    Capabilities,
    ChannelRead,
    ChannelWrite,
    LocationRead,
    LocationWrite,
    ProductCreate,
    ProductRead,
    SkuRead,
)
from omniretail.db.uow import UnitOfWork


@dataclass(frozen=True)
class ChannelSettings:
    """What the hot paths need to know about a channel (cached for a few seconds)."""

    code: str
    reservation_ttl_seconds: int
    atp_buffer: int
    location_codes: frozenset[str]
    currency: str = "GBP"
    country: str = "GB"
    prices_include_tax: bool = True
    kind: str = "web"


def create_product(uow: UnitOfWork, data: ProductCreate) -> ProductRead:
    session = uow.session
    if repository.get_product(session, data.code) is not None:
        raise DuplicateCode(f"product {data.code!r} already exists", field="code")
    sku_codes = [s.code for s in data.skus]
    if len(set(sku_codes)) != len(sku_codes):
        raise DuplicateCode("the same SKU code appears twice in the request", field="skus")
    taken = repository.existing_sku_codes(session, sku_codes)
    if taken:
        raise DuplicateCode(f"SKU codes already exist: {', '.join(sorted(taken))}", field="skus")
    product = Product(
        code=data.code,
        name=data.name,
        category=data.category,
        attributes=data.attributes,
        created_at=uow.now,
    )
    session.add(product)
    session.flush()
    for s in data.skus:
        session.add(
            Sku(
                code=s.code,
                product_code=data.code,
                name=s.name,
                attributes=s.attributes,
                price=s.price,
                active=True,
                created_at=uow.now,
            )
        )
    session.flush()
    uow.record(events.ProductCreated(product=data.code, skus=sku_codes))
    return get_product(uow, data.code)


def get_product(uow: UnitOfWork, code: str) -> ProductRead:
    product = repository.get_product(uow.session, code)
    if product is None:
        raise UnknownProduct(f"no product with code {code!r}", field="code")
    skus = repository.list_skus_of_product(uow.session, code)
    return ProductRead(
        code=product.code,
        name=product.name,
        category=product.category,
        attributes=product.attributes,
        skus=[SkuRead.model_validate(s) for s in skus],
    )


def get_sku(uow: UnitOfWork, code: str) -> SkuRead:
    sku = repository.get_sku(uow.session, code)
    if sku is None:
        raise UnknownSku(f"no SKU with code {code!r}", field="sku")
    return SkuRead.model_validate(sku)


def categories_of(uow: UnitOfWork, sku_codes: Collection[str]) -> dict[str, str | None]:
    """Each SKU's product category (None: the product has none); unknown SKUs are left out."""
    return repository.categories_of(uow.session, list(sku_codes))


def require_sku(uow: UnitOfWork, code: str, *, field: str = "sku") -> None:
    """Raises ``UnknownSku`` (on ``field``) unless a SKU has this code."""
    if repository.get_sku(uow.session, code) is None:
        raise UnknownSku(f"no SKU with code {code!r}", field=field)


def existing_sku_codes(uow: UnitOfWork, codes: Iterable[str]) -> set[str]:
    """The codes among ``codes`` that are SKUs (one query)."""
    return repository.existing_sku_codes(uow.session, codes)


def sku_names(uow: UnitOfWork, codes: Iterable[str]) -> dict[str, str]:
    """Code -> name of the SKUs among ``codes`` (one query), for lists that show codes."""
    return repository.sku_names(uow.session, codes)


def list_skus(
    uow: UnitOfWork,
    *,
    offset: int = 0,
    limit: int = 100,
    query: str | None = None,
    active: bool | None = None,
) -> list[SkuRead]:
    rows = repository.list_skus(uow.session, offset=offset, limit=limit, query=query, active=active)
    return [SkuRead.model_validate(s) for s in rows]


def save_channel(uow: UnitOfWork, data: ChannelWrite) -> ChannelRead:
    session = uow.session
    for loc in data.location_codes:
        if repository.get_location(session, loc) is None:
            raise UnknownLocation(f"no location with code {loc!r}", field="location_codes")
    channel = repository.get_channel(session, data.code)
    if channel is None:
        channel = Channel(code=data.code)
        session.add(channel)
    channel.name = data.name
    channel.kind = data.kind.value
    channel.reservation_ttl_seconds = data.reservation_ttl_seconds
    channel.atp_buffer = data.atp_buffer
    channel.currency = data.currency
    channel.country = data.country
    channel.prices_include_tax = data.prices_include_tax
    session.flush()
    repository.replace_channel_locations(session, data.code, sorted(set(data.location_codes)))
    uow.cache.invalidate()
    uow.record(events.ChannelSaved.of(data))
    return get_channel(uow, data.code)


def get_channel(uow: UnitOfWork, code: str) -> ChannelRead:
    channel = repository.get_channel(uow.session, code)
    if channel is None:
        raise UnknownChannel(f"no channel with code {code!r}", field="channel")
    return _channel_read(channel, repository.location_codes_of_channel(uow.session, code))


def list_channels(uow: UnitOfWork) -> list[ChannelRead]:
    links: dict[str, list[str]] = {}
    for channel_code, location_code in repository.all_channel_links(uow.session):
        links.setdefault(channel_code, []).append(location_code)
    return [
        _channel_read(c, sorted(links.get(c.code, [])))
        for c in repository.list_channels(uow.session)
    ]


def self_service_channel(uow: UnitOfWork) -> str | None:
    """The channel a customer buys on when they name none, as the web shop sells: the first
    web channel, else the first app channel; None when there is neither."""
    channels = repository.list_channels(uow.session)
    for kind in (ChannelKind.WEB, ChannelKind.APP):
        found = [c.code for c in channels if c.kind == kind.value]
        if found:
            return found[0]
    return None


def channel_settings(uow: UnitOfWork, code: str) -> ChannelSettings:
    """Cached read of a channel's TTL, buffer and locations (the reservation hot path)."""
    key = f"channel:{code}"
    cached = uow.cache.get(key)
    if isinstance(cached, ChannelSettings):
        return cached
    channel = repository.get_channel(uow.session, code)
    if channel is None:
        raise UnknownChannel(f"no channel with code {code!r}", field="channel")
    settings = ChannelSettings(
        code=channel.code,
        reservation_ttl_seconds=channel.reservation_ttl_seconds,
        atp_buffer=channel.atp_buffer,
        location_codes=frozenset(repository.location_codes_of_channel(uow.session, code)),
        currency=channel.currency,
        country=channel.country,
        prices_include_tax=channel.prices_include_tax,
        kind=channel.kind,
    )
    uow.cache.put(key, settings)
    return settings


def save_location(uow: UnitOfWork, data: LocationWrite) -> LocationRead:
    session = uow.session
    location = repository.get_location(session, data.code)
    if location is None:
        location = Location(code=data.code, active=True)
        session.add(location)
    location.name = data.name
    location.kind = data.kind.value
    location.latitude = data.latitude
    location.longitude = data.longitude
    location.address = data.address
    location.timezone = data.timezone
    location.opening_hours = dict(data.opening_hours)
    location.ships_to_home = data.capabilities.ships_to_home
    location.pickup = data.capabilities.pickup
    location.ship_to_store_target = data.capabilities.ship_to_store_target
    location.accepts_returns = data.capabilities.accepts_returns
    location.curbside = data.capabilities.curbside
    location.daily_capacity = data.daily_capacity
    session.flush()
    uow.cache.invalidate()
    uow.record(events.LocationSaved.of(data))
    return get_location(uow, data.code)


def get_location(uow: UnitOfWork, code: str) -> LocationRead:
    location = repository.get_location(uow.session, code)
    if location is None:
        raise UnknownLocation(f"no location with code {code!r}", field="location")
    return _location_read(location, repository.channel_codes_of_location(uow.session, code))


def location_exists(uow: UnitOfWork, code: str) -> bool:
    return repository.get_location(uow.session, code) is not None


def require_location(uow: UnitOfWork, code: str, *, field: str = "location") -> None:
    """Raises ``UnknownLocation`` (on ``field``) unless a location has this code."""
    if not location_exists(uow, code):
        raise UnknownLocation(f"no location with code {code!r}", field=field)


def list_locations(uow: UnitOfWork, kind: str | None = None) -> list[LocationRead]:
    links: dict[str, list[str]] = {}
    for channel_code, location_code in repository.all_channel_links(uow.session):
        links.setdefault(location_code, []).append(channel_code)
    return [
        _location_read(loc, sorted(links.get(loc.code, [])))
        for loc in repository.list_locations(uow.session, kind)
    ]


def _channel_read(channel: Channel, location_codes: list[str]) -> ChannelRead:
    return ChannelRead(
        code=channel.code,
        name=channel.name,
        kind=ChannelKind(channel.kind),
        reservation_ttl_seconds=channel.reservation_ttl_seconds,
        atp_buffer=channel.atp_buffer,
        location_codes=location_codes,
        currency=channel.currency,
        country=channel.country,
        prices_include_tax=channel.prices_include_tax,
    )


def _location_read(location: Location, channel_codes: list[str]) -> LocationRead:
    return LocationRead(
        code=location.code,
        name=location.name,
        kind=LocationKind(location.kind),
        latitude=location.latitude,
        longitude=location.longitude,
        address=location.address,
        timezone=location.timezone,
        opening_hours=location.opening_hours,
        capabilities=Capabilities(
            ships_to_home=location.ships_to_home,
            pickup=location.pickup,
            ship_to_store_target=location.ship_to_store_target,
            accepts_returns=location.accepts_returns,
            curbside=location.curbside,
        ),
        daily_capacity=location.daily_capacity,
        active=location.active,
        channel_codes=channel_codes,
    )
