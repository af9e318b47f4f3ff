"""The counter: "find it elsewhere" (stock here, everywhere and in stores nearby), ordering
for a customer into their cart, reserving at the chosen location, and checkout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.carts import service as carts
from omniretail.carts.schemas import CartCreate, CartLineAdd
from omniretail.catalog import service as catalog
from omniretail.catalog.service import ChannelKind
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.kernel.errors import DomainError
from omniretail.orders import service as checkout
from omniretail.orders.schemas import CheckoutCreate
from omniretail.pricing import service as pricing
from omniretail.routing.service import policy_from
from omniretail.web import steps
from omniretail.web.deps import PageRoute, PostedDep, authorize_as, change, read, redirect, render
from omniretail.web.forms import GENERAL, Errors, body_of, errors_of
from omniretail.web.lookup import find_customer_id
from omniretail.web.session import container_of
from omniretail.web.store.deps import (
    CUSTOMER_KINDS,
    Shop,
    ShopDep,
    email_on_file,
    fulfilments_here,
    shop_of,
    store_channel,
    store_for,
)

router = APIRouter(prefix="/store", route_class=PageRoute, include_in_schema=False)


# --- find it elsewhere, and order it for the customer ----------------------------------------


@router.get("/find", response_class=HTMLResponse)
def find(request: Request, s: ShopDep, sku: str = "") -> HTMLResponse:
    sku = sku.strip().upper()
    context: dict[str, Any] = {"sku": sku, "result": None, "errors": {}}
    if sku:
        try:
            context["result"] = read(request, lambda uow: _stock_everywhere(uow, sku, s.store))
        except DomainError as exc:
            context["errors"] = {"sku": exc.detail}
    return render(
        request,
        "store/find.html",
        viewer=s.viewer,
        shop=s,
        kinds=CUSTOMER_KINDS,
        values={"sku": sku, "quantity": "1", "kind": "email"},
        **context,
    )


def _stock_everywhere(uow: UnitOfWork, sku: str, store: str) -> dict[str, Any]:
    item = catalog.get_sku(uow, sku)
    here = catalog.get_location(uow, store)
    everywhere = inventory.availability(uow, [sku])[0]
    names = {loc.code: loc for loc in catalog.list_locations(uow)}
    nearby = inventory.nearby_stock(
        uow, sku, here.latitude, here.longitude, radius_km=100, limit=10
    )
    rows = sorted(
        (
            {
                "code": cell.location,
                "name": names[cell.location].name if cell.location in names else cell.location,
                "kind": names[cell.location].kind.value if cell.location in names else "",
                "available": cell.available,
            }
            for cell in everywhere.locations
            if cell.available > 0
        ),
        key=lambda r: (r["code"] != store, -int(r["available"])),
    )
    try:
        currency, prices = pricing.shelf_prices(uow, store_channel(uow, store), [sku])
        price = prices[sku]
    except DomainError:  # no till channel yet: the catalog price
        currency, price = pricing.CATALOG_CURRENCY, item.price
    return {
        "item": item,
        "price": price,
        "currency": currency,
        "total": everywhere.available,
        "rows": rows,
        "nearby": nearby,
    }


def _stock_channel(uow: UnitOfWork, location: str, store: str) -> str:
    """The channel whose stock pool the customer's line is reserved in: the store's till
    channel when it sells from the location holding the units, else a channel that does (the
    web shop first). The order itself is recorded on the store's channel (``cart_checkout``)."""
    codes = catalog.get_location(uow, location).channel_codes
    channels = [c for c in catalog.list_channels(uow) if c.code in codes]
    if not channels:
        raise DomainError(f"no channel sells from {location}", field="location")
    till = store_channel(uow, store)
    if till in codes:
        return till
    web = [c for c in channels if c.kind == ChannelKind.WEB]
    return (web or channels)[0].code


@router.post("/find/order", response_model=None)
def order_for_customer(request: Request, posted: PostedDep) -> Response:
    """``POST /carts`` for the customer (found as ``POST /customers/lookup`` does) and
    ``POST /carts/{token}/lines`` reserving at the chosen location."""
    values = posted.values
    sku = values.get("sku", "").strip().upper()
    kind, value = values.get("kind", "email"), values.get("value", "").strip()
    location = values.get("location", "").strip().upper() or store_for(request, posted.viewer)
    line_data = body_of(CartLineAdd, values, sku=sku, location=location)
    if value:
        lookup_body = {"kind": kind, "value": value}
        authorize_as(request, posted.viewer, "POST /customers/lookup", body=lookup_body)
    add_line = authorize_as(request, posted.viewer, "POST /carts/{token}/lines", body=line_data)
    s = shop_of(request, posted.viewer)
    actor = s.viewer.principal.actor
    try:
        customer_id = find_customer_id(request, kind, value) if value else None
        new_cart = authorize_as(request, s.viewer, "POST /carts", body={"customer_id": customer_id})
        line = CartLineAdd.model_validate(line_data)

        def add(uow: UnitOfWork) -> str:
            channel = _stock_channel(uow, location or s.store, s.store)
            cart = carts.create_cart(
                uow, CartCreate(channel=channel, customer_id=customer_id), actor=actor
            )
            held = line.model_copy(update={"channel": channel})
            carts.add_line(uow, cart.token, held, actor=actor)
            return cart.token

        token = change(request, [new_cart, add_line], add)
    except (ValidationError, DomainError) as exc:
        result = None
        if sku:
            try:
                result = read(request, lambda uow: _stock_everywhere(uow, sku, s.store))
            except DomainError:
                result = None
        return render(
            request,
            "store/find.html",
            viewer=s.viewer,
            shop=s,
            kinds=CUSTOMER_KINDS,
            sku=sku,
            result=result,
            values=values,
            errors=errors_of(exc, {"customer_id": "value", "sku": "sku"}),
            status=422,
        )
    return redirect(f"/store/carts/{token}", notice="Added to the customer's cart.")


def _cart_page(
    request: Request,
    s: Shop,
    token: str,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    def load(uow: UnitOfWork) -> tuple[Any, str | None]:
        cart = carts.get_cart(uow, token, store_channel(uow, s.store))
        email = email_on_file(uow, cart.customer_id) if cart.customer_id else None
        return cart, email

    cart, email = read(request, load)
    defaults = {"method": "ship_to_store", "provider_token": "tok_visa"}
    return render(
        request,
        "store/cart.html",
        viewer=s.viewer,
        shop=s,
        cart=cart,
        email_on_file=email,
        values={**defaults, **(values or {})},
        errors=errors or {},
        status=status,
    )


@router.get("/carts/{token}", response_class=HTMLResponse)
def cart_page(request: Request, s: ShopDep, token: str) -> HTMLResponse:
    return _cart_page(request, s, token)


@router.post("/carts/{token}/checkout", response_model=None)
def cart_checkout(request: Request, posted: PostedDep, token: str) -> Response:
    """``POST /carts/{token}/checkout`` on the store's channel (derived from the associate's
    store, never from the form), its updates sent to the email typed or, for a known
    customer, the one on file."""
    values = posted.values
    method = values.get("method", "ship_to_store")
    store = store_for(request, posted.viewer)
    fulfilment: dict[str, Any] = {"method": method}
    if method == "ship_to_home":
        fulfilment["address"] = {
            k: values.get(k, "").strip() for k in ("line1", "city", "postcode") if values.get(k)
        }
    else:
        fulfilment["pickup_location"] = store

    def channel_and_email(uow: UnitOfWork) -> tuple[str | None, str | None]:
        channel = store_channel(uow, store) if store else None
        typed = values.get("contact_email", "").strip() or None
        if typed is not None:
            return channel, typed
        owner = checkout.cart_owner(uow, token)
        if owner is None or owner.customer_id is None:
            return channel, None
        return channel, email_on_file(uow, owner.customer_id)

    channel, contact = read(request, channel_and_email)
    data = {
        "channel": channel,
        "fulfilment": fulfilment,
        "payment": {"provider_token": values.get("provider_token", "").strip()},
        "contact_email": contact,
    }
    decided = authorize_as(
        request, posted.viewer, "POST /carts/{token}/checkout", {"token": token}, data
    )
    s = shop_of(request, posted.viewer)
    rename = {
        "fulfilment.address": "line1",
        "fulfilment": "method",
        "payment.provider_token": "provider_token",
        "fulfilment.pickup_location": "method",
        "channel": GENERAL,
    }
    container = container_of(request)
    actor = s.viewer.principal.actor
    try:
        body = CheckoutCreate.model_validate(data)
        order = checkout.checkout_paid(
            token,
            body,
            begin=lambda fn: change(request, decided, fn),
            settle=checkout.in_transaction(container.uow),
            payments=steps.payments_of(request),
            policy=policy_from(container.settings),
            actor=actor,
            ttl=timedelta(seconds=container.settings.payment_attempt_ttl_seconds),
        )
    except (ValidationError, DomainError) as exc:
        return _cart_page(
            request, s, token, values=values, errors=errors_of(exc, rename), status=422
        )
    target = f"/store/orders/{order.number}" if fulfilments_here(order, s.store) else "/store"
    told = (
        "The customer gets its confirmation by email, and the pickup code when it is ready."
        if contact
        else "No email for this order: give the customer the order number yourself."
    )
    return redirect(target, notice=f"Order {order.number} placed. {told}")
