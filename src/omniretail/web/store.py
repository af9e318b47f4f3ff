"""The store associate app (phone first): the store's work for today, each fulfilment's steps
and the handover with the pickup code, order look-up and returns (BORIS), "find it elsewhere" with
ordering into the customer's cart, and loyalty look-up with redemption.

An associate sees and changes only their own store's work (the store on their sign-in); an
administrator picks a store first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.auth.models import Role
from omniretail.carts import service as carts
from omniretail.carts.schemas import CartCreate, CartLineAdd
from omniretail.catalog import service as catalog
from omniretail.catalog.models import ChannelKind
from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import service as returns
from omniretail.fulfilment.schemas import ReturnCreate
from omniretail.inventory import availability
from omniretail.kernel.errors import DomainError
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import RedemptionCreate
from omniretail.orders import service as access
from omniretail.orders import service as checkout
from omniretail.orders import service as lookup
from omniretail.orders.errors import UnknownOrder
from omniretail.orders.schemas import CheckoutCreate, OrderRead
from omniretail.orders.service import compensating
from omniretail.routing.service import policy_from
from omniretail.web import steps
from omniretail.web.customers import find_customer_id
from omniretail.web.deps import (
    NotAllowed,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    current_viewer,
    read,
    redirect,
    render,
    require,
)
from omniretail.web.forms import GENERAL, Errors, body_of, errors_of
from omniretail.web.rendering import money
from omniretail.web.session import STORE_COOKIE, container_of

router = APIRouter(prefix="/store", route_class=PageRoute, include_in_schema=False)
LOOKUP_KINDS = [("number", "Order number"), ("email", "Email"), ("phone", "Phone")]
CUSTOMER_KINDS = [("email", "Email"), ("phone", "Phone"), ("loyalty_card", "Loyalty card")]


@dataclass(frozen=True)
class Shop:
    """The associate and the store they work in."""

    viewer: Viewer
    store: str
    name: str


def _store_for(request: Request, viewer: Viewer) -> str | None:
    """The store the viewer works in (an administrator's choice); None for other roles."""
    if viewer.role == Role.STORE_ASSOCIATE.value:
        return viewer.principal.store_code
    if viewer.role == Role.ADMIN.value:
        return request.cookies.get(STORE_COOKIE) or None
    return None


def _shop_of(request: Request, viewer: Viewer) -> Shop:
    """The store app needs a store: an associate's, or the one an administrator chose."""
    if viewer.role not in (Role.STORE_ASSOCIATE.value, Role.ADMIN.value):
        raise NotAllowed("The store app is for store associates.")
    store = _store_for(request, viewer)
    if store is None:
        raise NotAllowed("Choose a store first: open /store/choose.", status=409)
    location = read(request, lambda uow: catalog.get_location(uow, store))
    return Shop(viewer, store, location.name)


def shop(request: Request) -> Shop:
    """For the store app's pages. Its forms first decide as the API would (``authorize_as``)
    and then take the store (``_shop_of``), so a refusal reads the API's message."""
    viewer = current_viewer(request)
    require(viewer, steps.PERMISSION)
    return _shop_of(request, viewer)


ShopDep = Annotated[Shop, Depends(shop)]


@router.get("/choose", response_class=HTMLResponse)
def choose(request: Request) -> HTMLResponse:
    viewer = current_viewer(request)
    authorize_as(request, viewer, "POST /console/store/choose")  # the page of that form
    stores = read(request, lambda uow: catalog.list_locations(uow, "store"))
    return render(request, "store/choose.html", viewer=viewer, stores=stores)


@router.post("/choose", response_model=None)
def chosen(request: Request, posted: PostedDep) -> Response:
    authorize_as(request, posted.viewer, "POST /console/store/choose")
    code = posted.get("store").upper()
    read(request, lambda uow: catalog.get_location(uow, code))
    response = redirect("/store")
    response.set_cookie(STORE_COOKIE, code, httponly=True, samesite="lax", path="/")
    return response


# --- today's work ----------------------------------------------------------------------------


def _here(order: OrderRead, store: str) -> list[Any]:
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


@router.get("", response_class=HTMLResponse)
def today(request: Request, s: ShopDep) -> HTMLResponse:
    orders = read(request, lambda uow: lookup.orders_for_location(uow, s.store, limit=100))
    lanes: dict[str, list[tuple[OrderRead, Any]]] = {
        "to_accept": [],
        "to_prepare": [],
        "arriving": [],
        "waiting": [],
    }
    for order in orders:
        for f in _here(order, s.store):
            lane = _lane(f, s.store)
            if lane is not None:
                lanes[lane].append((order, f))
    return render(request, "store/today.html", viewer=s.viewer, shop=s, lanes=lanes)


def _lane(f: Any, store: str) -> str | None:
    """Where a fulfilment shows on the store's board (presentation only)."""
    if f.status == "ready_for_pickup" and f.pickup_location == store:
        return "waiting"
    if f.status == "shipped" and f.pickup_location == store and f.location != store:
        return "arriving"
    if f.location != store:
        return None
    if f.status == "created":
        return "to_accept"
    if f.status in ("accepted", "picking", "packed"):
        return "to_prepare"
    return None


def _store_order(request: Request, s: Shop, number: str) -> OrderRead:
    order = read(request, lambda uow: lookup.get_order(uow, number))
    if not _here(order, s.store):
        raise UnknownOrder(f"order {number} has nothing to do at {s.store}", field="number")
    return order


@router.get("/orders/{number}", response_class=HTMLResponse)
def store_order(request: Request, s: ShopDep, number: str) -> HTMLResponse:
    order = _store_order(request, s, number.strip().upper())
    return render(
        request,
        "store/order.html",
        viewer=s.viewer,
        shop=s,
        order=order,
        here=_here(order, s.store),
    )


@router.get("/open", response_model=None)
def open_order(request: Request, s: ShopDep, number: str = "") -> Response:
    return redirect(f"/store/orders/{number.strip().upper()}" if number.strip() else "/store")


@router.post("/orders/{number}/fulfilments/{fid}/{step}", response_model=None)
def store_step(request: Request, posted: PostedDep, number: str, fid: str, step: str) -> Response:
    decided, body = steps.authorize_step(request, posted.viewer, fid, step, posted.values)
    s = _shop_of(request, posted.viewer)
    order = _store_order(request, s, number)
    f = next((f for f in _here(order, s.store) if f.id == fid), None)
    if f is None:
        raise NotAllowed(f"This fulfilment is not served at {s.store}.")
    acting = access.FulfilmentSites(f.method, f.location, f.pickup_location).acting(step)
    if s.store not in acting:
        raise NotAllowed(f"This step ({step}) is done at {' or '.join(sorted(acting))}.")
    _done, errors = steps.run_step(request, decided, body)
    if errors:
        order = _store_order(request, s, number)
        return render(
            request,
            "store/order.html",
            viewer=s.viewer,
            shop=s,
            order=order,
            here=_here(order, s.store),
            errors=errors,
            values=posted.values,
            target=f"{fid}:{step}",
            status=422,
        )
    notice = {
        "collect": "Handed over. Thank you!",
        "ready": "Ready for pickup: the customer has been told.",
        "reject": "Rejected: the order is re-routed.",
    }.get(step, f"Done: {step}.")
    return redirect(f"/store/orders/{number}", notice=notice)


# --- returns: find an order bought anywhere --------------------------------------------------


@router.get("/returns", response_class=HTMLResponse)
def returns_page(request: Request, s: ShopDep) -> HTMLResponse:
    return render(
        request,
        "store/returns.html",
        viewer=s.viewer,
        shop=s,
        kinds=LOOKUP_KINDS,
        conditions=CONDITIONS,
        values={"kind": "number"},
        orders=None,
    )


@router.post("/returns", response_model=None)
def returns_lookup(request: Request, posted: PostedDep) -> Response:
    """By order number, or by the customer's email or phone (a POST keeps them out of URLs):
    ``GET /orders``, after ``POST /customers/lookup`` for a person."""
    kind, value = posted.get("kind"), posted.get("value")
    authorize_as(request, posted.viewer, "GET /orders")
    if kind != "number":
        lookup_body = {"kind": kind, "value": value}
        authorize_as(request, posted.viewer, "POST /customers/lookup", body=lookup_body)
    s = _shop_of(request, posted.viewer)
    orders: list[OrderRead] = []
    errors: Errors = {}
    try:
        if not value:
            raise DomainError("enter what to look up", field="value")
        if kind == "number":
            orders = [read(request, lambda uow: lookup.get_order(uow, value.upper()))]
        else:
            cid = find_customer_id(request, kind, value)
            orders = read(request, lambda uow: _orders_of_person(uow, cid))
    except DomainError as exc:
        errors = errors_of(exc, {"number": "value", "customer_id": "value", "email": "value"})
    return render(
        request,
        "store/returns.html",
        viewer=s.viewer,
        shop=s,
        kinds=LOOKUP_KINDS,
        conditions=CONDITIONS,
        values=posted.values,
        errors=errors,
        orders=orders,
        status=404 if errors else 200,
    )


# --- returns: take items back (BORIS), restocked or written off at this store ---------------

LINE_IN_MESSAGE = re.compile(r"^line (\d+)\b")
CONDITIONS = [("sellable", "Sellable: restock here"), ("damaged", "Damaged: write off")]


def _return_page(
    request: Request,
    s: Shop,
    order: OrderRead,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "store/returns.html",
        viewer=s.viewer,
        shop=s,
        kinds=LOOKUP_KINDS,
        conditions=CONDITIONS,
        values={"kind": "number", "value": order.number, **(values or {})},
        errors=errors or {},
        orders=[order],
        status=status,
    )


@router.get("/returns/{number}", response_class=HTMLResponse)
def return_form(request: Request, s: ShopDep, number: str) -> HTMLResponse:
    number = number.strip().upper()
    authorize_as(request, s.viewer, "GET /orders/{number}", {"number": number})
    order = read(request, lambda uow: lookup.get_order(uow, number))
    return _return_page(request, s, order)


QTY_FIELD = re.compile(r"^qty-(\d{1,6})$")


def _picked(values: dict[str, str]) -> list[dict[str, Any]]:
    """The lines picked on the form (a quantity above zero), as the API's body names them."""
    picked: list[dict[str, Any]] = []
    for name, text in values.items():
        found = QTY_FIELD.match(name)
        if found is None or text.strip() in ("", "0"):
            continue
        line_no, text = int(found.group(1)), text.strip()
        picked.append(
            {
                "line_no": line_no,
                "quantity": int(text) if text.lstrip("-").isdigit() else text,
                "condition": values.get(f"condition-{line_no}", "sellable"),
            }
        )
    return sorted(picked, key=lambda line: int(line["line_no"]))


def _return_body(order: OrderRead, values: dict[str, str], store: str) -> ReturnCreate:
    """The picked lines of the order's items, as the API's body."""
    items = {line.line_no for line in order.lines if line.sku}
    picked = [line for line in _picked(values) if line["line_no"] in items]
    if not picked:
        first = next((ln.line_no for ln in order.lines if ln.returnable > 0), None)
        raise DomainError(
            "enter how many units of an item come back",
            field=f"qty-{first}" if first is not None else GENERAL,
        )
    return ReturnCreate.model_validate({"location": store, "lines": picked})


def _return_errors(exc: ValidationError | DomainError, body_lines: list[int]) -> Errors:
    """The service's problem beside the line it is about (its quantity field)."""
    if isinstance(exc, DomainError):
        if exc.field and exc.field.startswith("qty-"):
            return {exc.field: exc.detail}
        if exc.field == "lines":
            found = LINE_IN_MESSAGE.match(exc.detail)
            if found:
                return {f"qty-{found.group(1)}": exc.detail}
            if len(body_lines) == 1:
                return {f"qty-{body_lines[0]}": exc.detail}
        return {GENERAL: exc.detail}
    rename: dict[str, str] = {"location": GENERAL, "lines": GENERAL}
    for index, line_no in enumerate(body_lines):
        rename[f"lines.{index}.quantity"] = f"qty-{line_no}"
        rename[f"lines.{index}.condition"] = f"condition-{line_no}"
    return errors_of(exc, rename)


@router.post("/returns/{number}", response_model=None)
def return_items(request: Request, posted: PostedDep, number: str) -> Response:
    """A BORIS return at the associate's store: the same use case and authorisation as
    ``POST /api/v1/orders/{number}/returns`` with this store as the receiving location."""
    number = number.strip().upper()
    decided = authorize_as(
        request,
        posted.viewer,
        "POST /orders/{number}/returns",
        {"number": number},
        {"location": _store_for(request, posted.viewer), "lines": _picked(posted.values)},
    )
    s = _shop_of(request, posted.viewer)
    order = read(request, lambda uow: lookup.get_order(uow, number))
    values = posted.values
    actor = s.viewer.principal.actor
    window = container_of(request).settings.return_window_days
    picked: list[int] = []
    try:
        body = _return_body(order, values, s.store)
        picked = [ln.line_no for ln in body.lines]
        change(
            request,
            decided,
            lambda uow: returns.return_items(
                uow,
                number,
                body,
                window_days=window,
                actor=actor,
            ),
        )
    except (ValidationError, DomainError) as exc:
        if not picked:
            picked = [
                ln.line_no
                for ln in order.lines
                if values.get(f"qty-{ln.line_no}", "").strip() not in ("", "0")
            ]
        fresh = read(request, lambda uow: lookup.get_order(uow, number))
        return _return_page(
            request,
            s,
            fresh,
            values=values,
            errors=_return_errors(exc, picked),
            status=422,
        )
    return redirect(f"/store/returns/{number}", notice=_return_notice(order, body, s.store))


def _return_notice(order: OrderRead, body: ReturnCreate, store: str) -> str:
    prices = {ln.line_no: ln.unit_price for ln in order.lines}
    refund = sum((prices[ln.line_no] * ln.quantity for ln in body.lines), Decimal("0"))
    sellable = sum(ln.quantity for ln in body.lines if ln.condition == "sellable")
    damaged = sum(ln.quantity for ln in body.lines if ln.condition == "damaged")
    parts = [f"Returned: refund {money(refund, order.currency)} to the original payment."]
    if sellable:
        parts.append(f"{sellable} restocked at {store}.")
    if damaged:
        parts.append(f"{damaged} written off at {store}.")
    return " ".join(parts)


def _orders_of_person(uow: UnitOfWork, customer_id: int) -> list[OrderRead]:
    """Every order of the person, whichever of their merged profiles it was placed with."""
    found: list[OrderRead] = []
    for cid in customers.cluster(uow, customer_id):
        found += lookup.list_orders(uow, cid, limit=20)
    return sorted(found, key=lambda o: o.placed_at, reverse=True)[:20]


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
    everywhere = availability.availability(uow, [sku])[0]
    names = {loc.code: loc for loc in catalog.list_locations(uow)}
    nearby = availability.nearby_stock(
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
    return {"item": item, "total": everywhere.available, "rows": rows, "nearby": nearby}


def _channel_selling_at(uow: UnitOfWork, location: str) -> str:
    """The cart's channel for an order from the store: one that sells from the location
    holding the units, the web shop if it does (its cart is the customer's everywhere)."""
    codes = catalog.get_location(uow, location).channel_codes
    channels = {c.code: c for c in catalog.list_channels(uow) if c.code in codes}
    if not channels:
        raise DomainError(f"no channel sells from {location}", field="location")
    web = [c for c in channels.values() if c.kind == ChannelKind.WEB]
    return (web or list(channels.values()))[0].code


@router.post("/find/order", response_model=None)
def order_for_customer(request: Request, posted: PostedDep) -> Response:
    """``POST /carts`` for the customer (found as ``POST /customers/lookup`` does) and
    ``POST /carts/{token}/lines`` reserving at the chosen location."""
    values = posted.values
    sku = values.get("sku", "").strip().upper()
    kind, value = values.get("kind", "email"), values.get("value", "").strip()
    location = values.get("location", "").strip().upper() or _store_for(request, posted.viewer)
    line_data = body_of(CartLineAdd, values, sku=sku, location=location)
    if value:
        lookup_body = {"kind": kind, "value": value}
        authorize_as(request, posted.viewer, "POST /customers/lookup", body=lookup_body)
    add_line = authorize_as(request, posted.viewer, "POST /carts/{token}/lines", body=line_data)
    s = _shop_of(request, posted.viewer)
    actor = s.viewer.principal.actor
    try:
        customer_id = find_customer_id(request, kind, value) if value else None
        new_cart = authorize_as(request, s.viewer, "POST /carts", body={"customer_id": customer_id})
        line = CartLineAdd.model_validate(line_data)

        def add(uow: UnitOfWork) -> str:
            channel = _channel_selling_at(uow, location or s.store)
            cart = carts.create_cart(
                uow, CartCreate(channel=channel, customer_id=customer_id), actor=actor
            )
            carts.add_line(uow, cart.token, line, actor=actor)
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
    cart = read(request, lambda uow: carts.get_cart(uow, token))
    defaults = {"method": "ship_to_store", "provider_token": "tok_visa"}
    return render(
        request,
        "store/cart.html",
        viewer=s.viewer,
        shop=s,
        cart=cart,
        values={**defaults, **(values or {})},
        errors=errors or {},
        status=status,
    )


@router.get("/carts/{token}", response_class=HTMLResponse)
def cart_page(request: Request, s: ShopDep, token: str) -> HTMLResponse:
    return _cart_page(request, s, token)


@router.post("/carts/{token}/checkout", response_model=None)
def cart_checkout(request: Request, posted: PostedDep, token: str) -> Response:
    values = posted.values
    method = values.get("method", "ship_to_store")
    fulfilment: dict[str, Any] = {"method": method}
    if method == "ship_to_home":
        fulfilment["address"] = {
            k: values.get(k, "").strip() for k in ("line1", "city", "postcode") if values.get(k)
        }
    else:
        fulfilment["pickup_location"] = _store_for(request, posted.viewer)
    data = {
        "fulfilment": fulfilment,
        "payment": {"provider_token": values.get("provider_token", "").strip()},
        "contact_email": values.get("contact_email", "").strip() or None,
    }
    decided = authorize_as(
        request, posted.viewer, "POST /carts/{token}/checkout", {"token": token}, data
    )
    s = _shop_of(request, posted.viewer)
    rename = {
        "fulfilment.address": "line1",
        "fulfilment": "method",
        "payment.provider_token": "provider_token",
        "fulfilment.pickup_location": "method",
    }
    container = container_of(request)
    actor = s.viewer.principal.actor
    try:
        body = CheckoutCreate.model_validate(data)
        with compensating(steps.payments_of(request)) as payments:
            order = change(
                request,
                decided,
                lambda uow: checkout.place_order(
                    uow,
                    token,
                    body,
                    payments=payments,
                    policy=policy_from(container.settings),
                    actor=actor,
                ),
            )
    except (ValidationError, DomainError) as exc:
        return _cart_page(
            request, s, token, values=values, errors=errors_of(exc, rename), status=422
        )
    target = f"/store/orders/{order.number}" if _here(order, s.store) else "/store"
    return redirect(target, notice=f"Order {order.number} placed.")


# --- loyalty ---------------------------------------------------------------------------------


@router.get("/loyalty", response_class=HTMLResponse)
def loyalty_page(request: Request, s: ShopDep) -> HTMLResponse:
    return render(
        request,
        "store/loyalty.html",
        viewer=s.viewer,
        shop=s,
        kinds=CUSTOMER_KINDS,
        values={"kind": "email"},
        account=None,
    )


@router.post("/loyalty", response_model=None)
def loyalty_lookup(request: Request, posted: PostedDep) -> Response:
    lookup_body = {"kind": posted.get("kind"), "value": posted.get("value")}
    authorize_as(request, posted.viewer, "POST /customers/lookup", body=lookup_body)
    s = _shop_of(request, posted.viewer)
    try:
        cid = find_customer_id(request, posted.get("kind"), posted.get("value"))
    except DomainError as exc:
        return render(
            request,
            "store/loyalty.html",
            viewer=s.viewer,
            shop=s,
            kinds=CUSTOMER_KINDS,
            values=posted.values,
            errors=errors_of(exc, {"customer_id": "value", "email": "value"}),
            account=None,
            status=404,
        )
    return redirect(f"/store/loyalty/{cid}")


def _account_page(
    request: Request,
    s: Shop,
    customer_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    def load(uow: UnitOfWork) -> dict[str, Any]:
        return {
            "account": loyalty.account_status(uow, customer_id),
            "coupons": loyalty.list_coupons(uow, customer_id),
        }

    return render(
        request,
        "store/loyalty.html",
        viewer=s.viewer,
        shop=s,
        kinds=CUSTOMER_KINDS,
        customer_id=customer_id,
        values=values or {},
        errors=errors or {},
        status=status,
        **read(request, load),
    )


@router.get("/loyalty/{customer_id}", response_class=HTMLResponse)
def loyalty_account(request: Request, s: ShopDep, customer_id: int) -> HTMLResponse:
    params = {"customer_id": customer_id}
    authorize_as(request, s.viewer, "GET /loyalty/customers/{customer_id}", params)
    return _account_page(request, s, customer_id)


@router.post("/loyalty/{customer_id}/redeem", response_model=None)
def redeem(request: Request, posted: PostedDep, customer_id: int) -> Response:
    data = body_of(RedemptionCreate, posted.values, channel=_store_for(request, posted.viewer))
    decided = authorize_as(
        request,
        posted.viewer,
        "POST /loyalty/customers/{customer_id}/redemptions",
        {"customer_id": customer_id},
        data,
    )
    s = _shop_of(request, posted.viewer)
    actor = s.viewer.principal.actor
    try:
        body = RedemptionCreate.model_validate(data)
        done = change(
            request,
            decided,
            lambda uow: loyalty.redeem_points(uow, customer_id, body, actor=actor),
        )
    except (ValidationError, DomainError) as exc:
        return _account_page(
            request,
            s,
            customer_id,
            values=posted.values,
            errors=errors_of(exc),
            status=422,
        )
    return redirect(
        f"/store/loyalty/{customer_id}",
        notice=f"Redeemed {done.points} points worth £{done.value:.2f}.",
    )
