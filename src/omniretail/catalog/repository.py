"""The only place that builds queries over the catalog tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from omniretail.catalog.models import Channel, ChannelLocation, Location, Product, Sku
from omniretail.db.sql import listed, listed_statement, listed_values


def get_product(session: Session, code: str) -> Product | None:
    return session.get(Product, code)


def get_sku(session: Session, code: str) -> Sku | None:
    return session.get(Sku, code)


def categories_of(session: Session, sku_codes: Sequence[str]) -> dict[str, str | None]:
    """Each existing SKU's product category, in one statement."""
    codes = sorted(set(sku_codes))
    if not codes:
        return {}
    stmt = listed_statement(session, "catalog.categories", len(codes), _categories_of)
    return {
        code: category for code, category in session.execute(stmt, listed_values("codes", codes))
    }


def _categories_of(postgres: bool, count: int) -> Any:
    skus, products = Sku.__table__.c, Product.__table__.c
    return (
        select(skus.code, products.category)
        .join_from(Sku.__table__, Product.__table__, products.code == skus.product_code)
        .where(listed(skus.code, "codes", count, postgres, skus.code.type))
    )


def list_skus_of_product(session: Session, product_code: str) -> list[Sku]:
    return list(
        session.scalars(select(Sku).where(Sku.product_code == product_code).order_by(Sku.code))
    )


def list_skus(
    session: Session, *, offset: int, limit: int, query: str | None, active: bool | None = None
) -> list[Sku]:
    """SKUs in code order; ``query``: every word in the name, or a code starting with it."""
    stmt = select(Sku).order_by(Sku.code).offset(offset).limit(limit)
    if query and query.split():
        stmt = stmt.where(Sku.matching(query))
    if active is not None:
        stmt = stmt.where(Sku.active == active)
    return list(session.scalars(stmt))


def existing_sku_codes(session: Session, codes: Iterable[str]) -> set[str]:
    return set(session.scalars(select(Sku.code).where(Sku.code.in_(list(codes)))))


def sku_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(codes))
    names: dict[str, str] = {}
    for start in range(0, len(wanted), 1000):  # bounded IN lists
        chunk = wanted[start : start + 1000]
        rows = session.execute(select(Sku.code, Sku.name).where(Sku.code.in_(chunk)))
        names.update((code, name) for code, name in rows)
    return names


def get_channel(session: Session, code: str) -> Channel | None:
    return session.get(Channel, code)


def list_channels(session: Session) -> list[Channel]:
    return list(session.scalars(select(Channel).order_by(Channel.code)))


def get_location(session: Session, code: str) -> Location | None:
    return session.get(Location, code)


def list_locations(session: Session, kind: str | None = None) -> list[Location]:
    stmt = select(Location).order_by(Location.code)
    if kind:
        stmt = stmt.where(Location.kind == kind)
    return list(session.scalars(stmt))


def location_codes_of_channel(session: Session, channel_code: str) -> list[str]:
    return list(
        session.scalars(
            select(ChannelLocation.location_code)
            .where(ChannelLocation.channel_code == channel_code)
            .order_by(ChannelLocation.location_code)
        )
    )


def channel_codes_of_location(session: Session, location_code: str) -> list[str]:
    return list(
        session.scalars(
            select(ChannelLocation.channel_code)
            .where(ChannelLocation.location_code == location_code)
            .order_by(ChannelLocation.channel_code)
        )
    )


def all_channel_links(session: Session) -> Sequence[tuple[str, str]]:
    rows = session.execute(select(ChannelLocation.channel_code, ChannelLocation.location_code))
    return [(c, loc) for c, loc in rows]


def replace_channel_locations(session: Session, channel_code: str, locations: list[str]) -> None:
    session.execute(delete(ChannelLocation).where(ChannelLocation.channel_code == channel_code))
    if locations:
        session.execute(
            insert(ChannelLocation),
            [{"channel_code": channel_code, "location_code": loc} for loc in locations],
        )
