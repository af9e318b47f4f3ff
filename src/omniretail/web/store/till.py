"""The till: a walk-in sale across the counter. SKUs are scanned (a USB scanner types into the
barcode field and presses Enter) or typed into an anonymous cart on the store's till channel,
each unit reserved at this store; the customer is found by email, phone or loyalty card; the
sale is paid in ``till_sale``.

The store is always the associate's (their sign-in) or the one an administrator chose; the
customer travels as ``?customer=<id>`` and is looked up again on every request."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.carts import service as carts
from omniretail.carts.schemas import CartCreate, CartLineAdd, CartLineUpdate, CartRead
from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import Conflict, DomainError
from omniretail.kernel.money import round_money
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import AccountRead
from omniretail.pricing.schemas import CouponApply
from omniretail.web.deps import (
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    read,
    redirect,
    render,
)
from omniretail.web.forms import GENERAL, Errors, body_of, errors_of
from omniretail.web.lookup import find_customer_id
from omniretail.web.store.deps import (
    CUSTOMER_KINDS,
    Shop,
    ShopDep,
    email_on_file,
    shop_of,
    store_channel,
    store_for,
)

router = APIRouter(prefix="/store/till", route_class=PageRoute, include_in_schema=False)
PAYMENT_METHODS = [("card", "Card (terminal)"), ("cash", "Cash")]


@dataclass(frozen=True)
class TillCustomer:
    """Whose account the sale is for, as the associate must see it before spending points."""

    id: int
    name: str
    email: str | None
    account: AccountRead | None
    point_value: Decimal
    currency: str  # the loyalty programme's: what its points are worth in

    def points_worth(self, points: int) -> Decimal:
        return round_money(points * self.point_value, self.currency)


def customer_of(request: Request, viewer: Viewer, raw: str | None) -> TillCustomer | None:
    """The customer named by ``?customer=``, read as ``GET /customers/{id}`` and
    ``GET /loyalty/customers/{id}`` would (the same decisions)."""
    if not raw:
        return None
    try:
        cid = int(raw)
    except ValueError:
        raise DomainError("a customer id is a number", field="customer") from None
    params = {"customer_id": cid}
    authorize_as(request, viewer, "GET /customers/{customer_id}", params)
    authorize_as(request, viewer, "GET /loyalty/customers/{customer_id}", params)

    def load(uow: UnitOfWork) -> TillCustomer:
        profile = customers.get_customer(uow, cid, vault=uow.vault)
        account = loyalty.account_status(uow, profile.id)
        programme = loyalty.rules(uow)
        return TillCustomer(
            id=profile.id,
            name=profile.name or f"Customer #{profile.id}",
            email=email_on_file(uow, profile.id),
            account=account if account.enrolled else None,
            point_value=programme.point_value,
            currency=programme.currency,
        )

    return read(request, load)


def till_cart(
    uow: UnitOfWork, token: str, store: str, customer: TillCustomer | None = None
) -> CartRead:
    """The sale's cart priced for the store's till channel (and for the customer the
    associate identified, as the sale will be). Not this store's sale (a customer's own cart,
    or stock held at another store) is a conflict: the policy lets an associate use any cart,
    as the API does, but a till sells only what is at its store."""
    cart = carts.get_cart(
        uow, token, store_channel(uow, store), customer_id=customer.id if customer else None
    )
    elsewhere = sorted({ln.location for ln in cart.lines if ln.location != store})
    if cart.customer_id is not None or elsewhere:
        where = " and ".join(elsewhere) or "the customer's own cart"
        raise Conflict(f"This sale is not {store}'s: it holds stock at {where}. Start a new sale.")
    return cart


def page(
    request: Request,
    s: Shop,
    token: str | None,
    customer: TillCustomer | None,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    confirm: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    cart = read(request, lambda uow: till_cart(uow, token, s.store, customer)) if token else None
    defaults = {
        "kind": "loyalty_card",
        "quantity": "1",
        "method": "card",
        "provider_token": "tok_visa",
        "receipt_email": customer.email if customer and customer.email else "",
    }
    return render(
        request,
        "store/till.html",
        viewer=s.viewer,
        shop=s,
        cart=cart,
        customer=customer,
        kinds=CUSTOMER_KINDS,
        methods=PAYMENT_METHODS,
        confirm=confirm,
        values={**defaults, **(values or {})},
        errors=errors or {},
        status=status,
    )


def till_url(token: str | None, customer: TillCustomer | int | None) -> str:
    url = f"/store/till/{token}" if token else "/store/till"
    cid = customer.id if isinstance(customer, TillCustomer) else customer
    return f"{url}?customer={cid}" if cid else url


@router.get("", response_class=HTMLResponse)
def new_sale(request: Request, s: ShopDep, customer: str = "") -> HTMLResponse:
    return page(request, s, None, customer_of(request, s.viewer, customer))


@router.get("/{token}", response_class=HTMLResponse)
def sale(request: Request, s: ShopDep, token: str, customer: str = "") -> HTMLResponse:
    return page(request, s, token, customer_of(request, s.viewer, customer))


@router.post("", response_model=None)
def scan_first(request: Request, posted: PostedDep) -> Response:
    return _scan(request, posted, None)


@router.post("/{token}/scan", response_model=None)
def scan(request: Request, posted: PostedDep, token: str) -> Response:
    return _scan(request, posted, token)


def _scan(request: Request, posted: PostedDep, token: str | None) -> Response:
    """``POST /carts`` (the first scan) and ``POST /carts/{token}/lines`` reserving at this
    store: scanning a SKU again adds to its line."""
    store = store_for(request, posted.viewer)
    sku = posted.get("sku").upper()
    raw = {**posted.values, "sku": sku, "quantity": posted.get("quantity") or "1"}
    line_data = body_of(CartLineAdd, raw, location=store, channel=None)
    decisions = [authorize_as(request, posted.viewer, "POST /carts/{token}/lines", body=line_data)]
    if token is None:
        decisions.append(authorize_as(request, posted.viewer, "POST /carts", body={}))
    s = shop_of(request, posted.viewer)
    customer = customer_of(request, s.viewer, posted.get("customer"))
    actor = s.viewer.principal.actor

    def add(uow: UnitOfWork) -> str:
        channel = store_channel(uow, s.store)
        cart_token = token
        if cart_token is None:
            cart_token = carts.create_cart(uow, CartCreate(channel=channel), actor=actor).token
        else:
            till_cart(uow, cart_token, s.store)
        line = CartLineAdd.model_validate({**line_data, "channel": channel})
        carts.add_line(uow, cart_token, line, actor=actor)
        return cart_token

    try:
        new_token = change(request, decisions, add)
    except (ValidationError, DomainError) as exc:
        errors = errors_of(exc, {"location": "sku", "lines": "sku", "channel": GENERAL})
        values = {"sku": sku, "quantity": raw["quantity"]}
        return page(request, s, token, customer, values=values, errors=errors, status=422)
    return redirect(till_url(new_token, customer))


@router.post("/{token}/lines/{sku}", response_model=None)
def set_quantity(request: Request, posted: PostedDep, token: str, sku: str) -> Response:
    """``PATCH /carts/{token}/lines/{sku}``: a new quantity at this store (0 removes)."""
    store = store_for(request, posted.viewer)
    body = body_of(CartLineUpdate, posted.values, location=store)
    decided = authorize_as(
        request, posted.viewer, "PATCH /carts/{token}/lines/{sku}", {"token": token}, body
    )
    s = shop_of(request, posted.viewer)
    customer = customer_of(request, s.viewer, posted.get("customer"))
    actor = s.viewer.principal.actor

    def update(uow: UnitOfWork) -> None:
        till_cart(uow, token, s.store)
        data = CartLineUpdate.model_validate({**body, "channel": store_channel(uow, s.store)})
        carts.update_line(uow, token, sku.upper(), data, actor=actor)

    try:
        change(request, decided, update)
    except (ValidationError, DomainError) as exc:
        errors = {f"qty-{sku}": next(iter(errors_of(exc).values()))}
        return page(request, s, token, customer, values=posted.values, errors=errors, status=422)
    return redirect(till_url(token, customer))


@router.post("/{token}/coupons", response_model=None)
def coupon(request: Request, posted: PostedDep, token: str) -> Response:
    """``POST /carts/{token}/coupons`` (the customer's coupon for this sale) or, with the form's
    ``remove`` button, ``DELETE /carts/{token}/coupons/{code}``: priced on the server."""
    data = body_of(CouponApply, {"code": posted.get("code").strip().upper()})
    removing = "remove" in posted.values
    if removing:
        params = {"token": token, "code": str(data.get("code", ""))}
        decided = authorize_as(
            request, posted.viewer, "DELETE /carts/{token}/coupons/{code}", params
        )
    else:
        params = {"token": token}
        decided = authorize_as(request, posted.viewer, "POST /carts/{token}/coupons", params, data)
    s = shop_of(request, posted.viewer)
    customer = customer_of(request, s.viewer, posted.get("customer"))
    actor = s.viewer.principal.actor

    def apply(uow: UnitOfWork) -> None:
        till_cart(uow, token, s.store, customer)
        code = CouponApply.model_validate(data).code
        if removing:
            carts.remove_coupon(uow, token, code, actor=actor)
        else:
            who = customer.id if customer else None
            carts.apply_coupon(uow, token, code, actor=actor, customer_id=who)

    try:
        change(request, decided, apply)
    except (ValidationError, DomainError) as exc:
        detail = exc.detail if isinstance(exc, DomainError) else "not a coupon code"
        status = exc.status if isinstance(exc, DomainError) else 422
        errors = {"code": detail}
        return page(request, s, token, customer, values=posted.values, errors=errors, status=status)
    return redirect(till_url(token, customer))


@router.post("/{token}/customer", response_model=None)
def find_customer(request: Request, posted: PostedDep, token: str) -> Response:
    """``POST /customers/lookup`` by email, phone or loyalty card (a QR scan types the card
    number); ``token`` "-" before the first scan."""
    kind, value = posted.get("kind"), posted.get("value")
    authorize_as(
        request, posted.viewer, "POST /customers/lookup", body={"kind": kind, "value": value}
    )
    s = shop_of(request, posted.viewer)
    sale_token = None if token == "-" else token
    try:
        cid = find_customer_id(request, kind, value)
    except DomainError as exc:
        errors = errors_of(exc, {"customer_id": "value", "email": "value"})
        return page(request, s, sale_token, None, values=posted.values, errors=errors, status=404)
    return redirect(till_url(sale_token, cid))
