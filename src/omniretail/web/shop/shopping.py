"""What the shop's browsing, basket and checkout pages share: the web channel, the signed-in
customer's "my store" and active cart, and a shopper's words for a line that cannot be had."""

from __future__ import annotations

from fastapi import Request

from omniretail.carts import service as carts
from omniretail.carts.errors import LinesUnavailable, UnknownCart
from omniretail.carts.schemas import CartRead
from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import LocationRead
from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.vault import vault_for
from omniretail.web.deps import Viewer
from omniretail.web.session import container_of

NEAR_KM = 50.0


def web_channel(uow: UnitOfWork) -> str | None:
    """The channel the shop sells on: the catalogue's self-service channel (the first web
    channel, else the first app channel), the one a customer's stock query uses. Never a till's,
    the call centre's or a marketplace's: their prices and stock are not the shop's."""
    return catalog.self_service_channel(uow)


def require_web_channel(uow: UnitOfWork) -> str:
    channel = web_channel(uow)
    if channel is None:
        raise DomainError("the shop has no sales channel yet", field="channel")
    return channel


def customer_id_of(viewer: Viewer | None) -> int | None:
    if viewer is None or viewer.role != "customer":
        return None
    return viewer.principal.customer_id


def home_store(request: Request, uow: UnitOfWork, customer_id: int | None) -> str | None:
    if customer_id is None:
        return None
    vault = vault_for(container_of(request).keyring)
    return customers.get_customer(uow, customer_id, vault=vault).home_store


def pick_area(
    stores: list[LocationRead], asked: str, home: str | None
) -> tuple[LocationRead | None, LocationRead | None]:
    """(the stores to show availability near, the customer's own store): the one asked for,
    else "my store", else the first store."""
    mine = next((s for s in stores if s.code == home), None)
    area = next((s for s in stores if s.code == asked.strip().upper()), None)
    return area or mine or (stores[0] if stores else None), mine


def active_cart(uow: UnitOfWork, customer_id: int, channel: str | None) -> CartRead | None:
    """The customer's active cart (the one the app and the store app see), priced for the
    shop's channel; None before the first line is added."""
    try:
        return carts.find_active_cart(uow, customer_id, channel)
    except UnknownCart:
        return None


def unavailable_message(exc: DomainError) -> str:
    """ "Only 3 left" rather than the API's location codes, when the stock is what is missing."""
    if not isinstance(exc, LinesUnavailable) or "max_quantity" not in exc.extra:
        return exc.detail
    most, asked = int(exc.extra["max_quantity"]), exc.extra.get("requested")
    if most <= 0:
        return "Out of stock: none can be bought right now."
    wanted = f" (you asked for {asked})" if asked is not None else ""
    return f"Not enough in stock: only {most} can be bought right now{wanted}."
