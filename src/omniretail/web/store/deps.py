"""What every page of the store app needs: the associate and the store they work in (an
administrator picks one first), and the fulfilments of an order that concern that store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from omniretail.auth.service import Role
from omniretail.catalog import service as catalog
from omniretail.catalog.service import ChannelKind
from omniretail.customers import service as customers
from omniretail.customers.schemas import IdentityKind
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.orders import service as access
from omniretail.orders.schemas import OrderRead
from omniretail.web import steps
from omniretail.web.deps import NotAllowed, Viewer, current_viewer, read, require
from omniretail.web.session import STORE_COOKIE

CUSTOMER_KINDS = [("email", "Email"), ("phone", "Phone"), ("loyalty_card", "Loyalty card")]


@dataclass(frozen=True)
class Shop:
    """The associate and the store they work in."""

    viewer: Viewer
    store: str
    name: str


def store_for(request: Request, viewer: Viewer) -> str | None:
    """The store the viewer works in (an administrator's choice); None for other roles."""
    if viewer.role == Role.STORE_ASSOCIATE.value:
        return viewer.principal.store_code
    if viewer.role == Role.ADMIN.value:
        return request.cookies.get(STORE_COOKIE) or None
    return None


def shop_of(request: Request, viewer: Viewer) -> Shop:
    """The store app needs a store: an associate's, or the one an administrator chose."""
    if viewer.role not in (Role.STORE_ASSOCIATE.value, Role.ADMIN.value):
        raise NotAllowed("The store app is for store associates.")
    store = store_for(request, viewer)
    if store is None:
        raise NotAllowed(
            "Choose the store you work in first.",
            status=409,
            link=("/store/choose", "Choose a store"),
        )
    location = read(request, lambda uow: catalog.get_location(uow, store))
    return Shop(viewer, store, location.name)


def shop(request: Request) -> Shop:
    """For the store app's pages. Its forms first decide as the API would (``authorize_as``)
    and then take the store (``shop_of``), so a refusal reads the API's message."""
    viewer = current_viewer(request)
    require(viewer, steps.PERMISSION)
    return shop_of(request, viewer)


ShopDep = Annotated[Shop, Depends(shop)]


def store_channel(uow: UnitOfWork, store: str) -> str:
    """The channel a store's sales are recorded on: its till channel (kind ``store_pos``)
    that sells from the store. Always derived from the associate's store, never from a form."""
    tills = sorted(
        c.code
        for c in catalog.list_channels(uow)
        if c.kind == ChannelKind.STORE_POS and store in c.location_codes
    )
    if not tills:
        raise DomainError(
            f"no till channel (kind store_pos) sells from {store}: an administrator adds"
            f" {store} to one before the store can sell",
            field="channel",
        )
    return tills[0]


def email_on_file(uow: UnitOfWork, customer_id: int) -> str | None:
    """Where the customer's order messages go: their email identity, a verified one first."""
    emails = [
        i
        for cid in customers.cluster(uow, customer_id)
        for i in customers.list_identities(uow, cid, vault=uow.vault)
        if i.kind == IdentityKind.EMAIL
    ]
    emails.sort(key=lambda i: not i.verified)
    return emails[0].value if emails else None


def fulfilments_here(order: OrderRead, store: str) -> list[Any]:
    """The order's fulfilments sent from or collected at ``store``, each offering only the steps
    the store performs (``orders.access``: the API refuses the others to its associates)."""
    return [
        f.model_copy(update={"next_steps": _steps_at(f, store)})
        for f in order.fulfilments
        if store in (f.location, f.pickup_location)
    ]


def _steps_at(f: Any, store: str) -> list[str]:
    sites = access.FulfilmentSites(f.method, f.location, f.pickup_location)
    return [s for s in f.next_steps if store in sites.acting(access.STEP_FOR_STATUS.get(s, s))]
