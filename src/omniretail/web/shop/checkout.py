"""Checkout: the fulfilment options of the customer's cart with their promise dates (the
routing ``GET /carts/{token}/fulfilment-options`` answers with), payment through the payment
port, and ``POST /carts/{token}/checkout``'s use case; then the confirmation page.

Nothing that decides money or ownership comes from the form: the cart is found by its token
and must be the customer's (the API's check), prices and total are the cart's, the contact
email is the customer's own. A form submitted twice places one order: the cart is closed by
the first (version-checked), so the second finds it checked out and shows that order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.api.deps import in_payment_thread
from omniretail.auth import access
from omniretail.carts import service as carts
from omniretail.carts.errors import CartNotActive
from omniretail.catalog import service as catalog
from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError, NotFound
from omniretail.kernel.vault import vault_for
from omniretail.orders import service as orders
from omniretail.orders.errors import CartChanged, UnknownOrder
from omniretail.orders.schemas import CheckoutCreate, OrderRead
from omniretail.routing.service import FulfilmentMethod, policy_from
from omniretail.web import steps
from omniretail.web.deps import (
    CustomerDep,
    PageRoute,
    Posted,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    customer_viewer,
    read,
    redirect,
    render,
)
from omniretail.web.forms import Errors, errors_of
from omniretail.web.session import container_of
from omniretail.web.shop.shopping import (
    NEAR_KM,
    active_cart,
    home_store,
    pick_area,
    require_web_channel,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
TEST_TOKENS = [
    ("tok_visa", "Test card: approved"),
    ("tok_decline", "Test card: declined"),
]
ADDRESS_FIELDS = ("line1", "line2", "city", "postcode")
RENAME = {
    "fulfilment": "option",
    "fulfilment.pickup_location": "option",
    "fulfilment.address": "line1",
    "payment.provider_token": "provider_token",
    "payment": "provider_token",
    "token": "__all__",
    "lines": "__all__",
}


def _customer(viewer: Viewer) -> int:
    customer_id = viewer.principal.customer_id
    assert customer_id is not None  # customer_viewer made sure
    return customer_id


def checkout_page(
    request: Request,
    viewer: Viewer,
    near: str = "",
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> Response:
    customer_id = _customer(viewer)
    policy = policy_from(container_of(request).settings)
    vault = vault_for(container_of(request).keyring)

    def load(uow: UnitOfWork) -> dict[str, Any] | None:
        channel = require_web_channel(uow)
        cart = active_cart(uow, customer_id, channel)
        if cart is None or not cart.lines:
            return None
        stores = catalog.list_locations(uow, "store")
        area, mine = pick_area(stores, near, home_store(request, uow, customer_id))
        offered = carts.options_for_cart(
            uow,
            cart.token,
            latitude=area.latitude if area else None,
            longitude=area.longitude if area else None,
            channel=channel,
            policy=policy,
            radius_km=NEAR_KM,
        ).options
        profile = customers.get_customer(uow, customer_id, vault=vault)
        # the cart priced with each offered method that has a fee (its total with the fee)
        with_fee = {
            method: priced
            for method in sorted({o.method.value for o in offered if o.available})
            if (priced := carts.get_cart(uow, cart.token, channel, method)).fee is not None
        }
        return {
            "cart": cart,
            "options": offered,
            "with_fee": with_fee,
            "stores": stores,
            "area": area,
            "mine": mine,
            "address": profile.address,
        }

    found = read(request, load)
    if found is None:
        return redirect("/shop/basket", notice="Your basket is empty.")
    defaults = _defaults(found)
    return render(
        request,
        "shop/checkout.html",
        viewer=viewer,
        status=status,
        values={**defaults, **(values or {})},
        errors=errors or {},
        test_tokens=TEST_TOKENS if steps.payments_of(request).name == "test" else None,
        **found,
    )


def _defaults(found: dict[str, Any]) -> dict[str, str]:
    """Collect at "my store" when it can, else the first option that can be had."""
    available = [o for o in found["options"] if o.available]
    mine = found["mine"].code if found["mine"] else None
    first = next((o for o in available if o.location == mine), available[0] if available else None)
    defaults = {
        "option": f"{first.method.value}@{first.location or ''}" if first else "",
        "provider_token": TEST_TOKENS[0][0],
        "token": found["cart"].token,
        "version": str(found["cart"].version),
    }
    address = found["address"]
    if address is not None:
        defaults.update({k: getattr(address, k) or "" for k in ADDRESS_FIELDS})
    return defaults


@router.get("/shop/checkout", response_model=None)
def checkout(request: Request, viewer: CustomerDep, near: str = "") -> Response:
    return checkout_page(request, viewer, near)


@router.post("/shop/checkout", response_model=None)
async def place(request: Request, posted: PostedDep) -> Response:
    # on the payment threads: a checkout waiting on its card keeps no shared thread
    return await in_payment_thread(request, lambda: _place(request, posted))


def _place(request: Request, posted: Posted) -> Response:
    viewer = customer_viewer(request)
    customer_id = _customer(viewer)
    token = posted.get("token")
    if not token or len(token) > 64:
        raise NotFound("no such basket")
    vault = vault_for(container_of(request).keyring)
    channel, contact, name = read(request, lambda uow: _who(uow, customer_id, vault))
    data = _body(posted.values, channel, contact, name)
    decided = authorize_as(request, viewer, "POST /carts/{token}/checkout", {"token": token}, data)
    cart = read(request, lambda uow: carts.get_cart(uow, token, channel))
    if cart.status != carts.CartStatus.ACTIVE.value and cart.order_number:
        return _confirmed(cart.order_number, again=True)
    problem = _problem(posted.values, data)
    if cart.version != _int(posted.get("version")):
        problem = {
            "__all__": "Your basket changed since you opened checkout: check it and pay again."
        }
    if problem:
        return checkout_page(
            request,
            viewer,
            posted.get("near"),
            values=_kept(posted.values),
            errors=problem,
            status=409 if "__all__" in problem else 422,
        )
    policy = policy_from(container_of(request).settings)
    actor = viewer.principal.actor
    try:
        body = CheckoutCreate.model_validate(data)
        container = container_of(request)
        order = orders.checkout_paid(
            token,
            body,
            begin=lambda fn: change(request, decided, fn),
            settle=orders.in_transaction(container.uow),
            payments=steps.payments_of(request),
            policy=policy,
            actor=actor,
            ttl=timedelta(seconds=container.settings.payment_attempt_ttl_seconds),
        )
    except (CartChanged, CartNotActive) as exc:
        again = read(request, lambda uow: carts.get_cart(uow, token, channel))
        if again.order_number:  # the same form, submitted twice at once: one order
            return _confirmed(again.order_number, again=True)
        return checkout_page(
            request,
            viewer,
            values=_kept(posted.values),
            errors={"__all__": exc.detail},
            status=409,
        )
    except (ValidationError, DomainError) as exc:
        return checkout_page(
            request,
            viewer,
            posted.get("near"),
            values=_kept(posted.values),
            errors=errors_of(
                exc, RENAME, fields=("option", "line1", "city", "postcode", "provider_token")
            ),
            status=exc.status if isinstance(exc, DomainError) else 422,
        )
    return _confirmed(order.number)


def _who(uow: UnitOfWork, customer_id: int, vault: Any) -> tuple[str, str | None, str | None]:
    """The shop's channel, and where the confirmation goes: the customer's own verified
    email (none: the order page is their receipt), as for a customer's API checkout."""
    channel = require_web_channel(uow)
    email = customers.verified_email(uow, customer_id, vault=vault)
    name = customers.get_customer(uow, customer_id, vault=vault).name
    return channel, email, name


def _body(
    values: dict[str, str], channel: str, contact: str | None, name: str | None
) -> dict[str, Any]:
    """The API's checkout body: method and pickup point from the chosen option, the address
    typed for a home delivery, the payment token; channel and email are the server's."""
    method, _, location = values.get("option", "").partition("@")
    fulfilment: dict[str, Any] = {"method": method.strip()}
    address = {"name": name} if name else {}
    if method == FulfilmentMethod.SHIP_TO_HOME.value:
        address.update({k: values[k].strip() for k in ADDRESS_FIELDS if values.get(k, "").strip()})
    elif location.strip():
        fulfilment["pickup_location"] = location.strip().upper()
    fulfilment["address"] = address
    return {
        "channel": channel,
        "fulfilment": fulfilment,
        "payment": {"provider_token": values.get("provider_token", "").strip()},
        "contact_email": contact,
    }


def _problem(values: dict[str, str], data: dict[str, Any]) -> Errors:
    """What the shop asks beyond the API: an option chosen, and an address to deliver to."""
    fulfilment = data["fulfilment"]
    if not fulfilment["method"]:
        return {"option": "Choose how to get your order."}
    if fulfilment["method"] == FulfilmentMethod.SHIP_TO_HOME.value:
        missing = {
            k: "Needed for home delivery."
            for k in ("line1", "city", "postcode")
            if not values.get(k, "").strip()
        }
        return missing
    return {}


def _kept(values: dict[str, str]) -> dict[str, str]:
    """What the form shows again: the customer's choices, never a stale cart version."""
    return {k: v for k, v in values.items() if k not in ("version", "token", "csrf_token")}


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _confirmed(number: str, *, again: bool = False) -> Response:
    notice = "This order was already placed." if again else "Thank you: your order is placed."
    return redirect(f"/shop/orders/{number}", notice=notice)


@router.get("/shop/orders/{number}", response_class=HTMLResponse)
def confirmation(request: Request, viewer: CustomerDep, number: str) -> HTMLResponse:
    """The confirmation: what was bought, how it comes and when, and the tracking link. Only
    the customer's own orders (another's is "not found", as if it did not exist)."""
    number = number.strip().upper()[:40]

    def load(uow: UnitOfWork) -> dict[str, Any]:
        order = orders.get_order(uow, number)
        if order.customer_id is None or not access.same_person(
            uow, viewer.principal, order.customer_id
        ):
            raise UnknownOrder(f"no order with number {number!r}", field="number")
        return {"order": order, "places": pickup_places(uow, order)}

    return render(request, "shop/confirmation.html", viewer=viewer, **read(request, load))


def pickup_places(uow: UnitOfWork, order: OrderRead) -> dict[str, str]:
    """The names of the places the order is collected from, by code."""
    codes = {f.pickup_location for f in order.fulfilments if f.pickup_location}
    return {loc.code: loc.name for loc in catalog.list_locations(uow) if loc.code in codes}
