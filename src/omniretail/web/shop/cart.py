"""The basket: the signed-in customer's active cart, the same cart the API and the store app
use (``POST /carts`` answers it on every channel). Add, change a quantity, remove; prices come
from the channel's price list, never from the form, and every line holds a reservation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.carts import service as carts
from omniretail.carts.schemas import CartCreate, CartLineAdd, CartLineUpdate
from omniretail.catalog.schemas import Code
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.pricing.schemas import CouponApply
from omniretail.web.deps import (
    CustomerDep,
    Decision,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    customer_viewer,
    read,
    redirect,
    render,
)
from omniretail.web.forms import Errors, body_of, errors_of
from omniretail.web.shop.products import product_page
from omniretail.web.shop.shopping import active_cart, require_web_channel, unavailable_message

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _customer(viewer: Viewer) -> int:
    customer_id = viewer.principal.customer_id
    assert customer_id is not None  # customer_viewer made sure
    return customer_id


def basket_page(
    request: Request,
    viewer: Viewer,
    *,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    customer_id = _customer(viewer)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        channel = require_web_channel(uow)
        return {"cart": active_cart(uow, customer_id, channel)}

    return render(
        request,
        "shop/basket.html",
        viewer=viewer,
        errors=errors or {},
        status=status,
        **read(request, load),
    )


@router.get("/shop/basket", response_class=HTMLResponse)
def basket(request: Request, viewer: CustomerDep) -> HTMLResponse:
    return basket_page(request, viewer)


@router.post("/shop/basket/add", response_model=None)
def add_to_basket(request: Request, posted: PostedDep) -> Response:
    """``POST /carts`` for the customer (their active cart, created on first use) and
    ``POST /carts/{token}/lines``: only the SKU and quantity come from the form."""
    viewer = customer_viewer(request)
    customer_id = _customer(viewer)
    sku = posted.get("sku").upper()
    raw = {"quantity": posted.get("quantity") or "1"}
    line_data = body_of(CartLineAdd, raw, sku=sku)
    channel, current = read(
        request,
        lambda uow: (require_web_channel(uow), active_cart(uow, customer_id, None)),
    )
    decided = [
        authorize_as(
            request, viewer, "POST /carts", body={"channel": channel, "customer_id": customer_id}
        ),
        authorize_as(
            request,
            viewer,
            "POST /carts/{token}/lines",
            {"token": current.token} if current else None,
            line_data,
        ),
    ]
    actor = viewer.principal.actor
    try:
        line = CartLineAdd.model_validate(line_data)

        def add(uow: UnitOfWork) -> None:
            cart = carts.create_cart(
                uow, CartCreate(channel=channel, customer_id=customer_id), actor=actor
            )
            carts.add_line(uow, cart.token, line, actor=actor)

        change(request, decided, add)
    except (ValidationError, DomainError) as exc:
        found = errors_of(exc, {"sku": "quantity"}, fields=("quantity",))
        if isinstance(exc, DomainError):
            found = {"quantity": unavailable_message(exc)}
        return product_page(
            request, viewer, sku, values=posted.values, errors=found, status=_status(exc)
        )
    return redirect("/shop/basket", notice="Added to your basket.")


@router.post("/shop/basket/lines/{sku}", response_model=None)
def change_line(request: Request, posted: PostedDep, sku: Code) -> Response:
    """``PATCH /carts/{token}/lines/{sku}`` (quantity 0 removes the line) or, with the form's
    ``remove`` button, ``DELETE /carts/{token}/lines/{sku}``."""
    viewer = customer_viewer(request)
    sku = sku.strip().upper()
    removing = "remove" in posted.values
    data = {} if removing else body_of(CartLineUpdate, {"quantity": posted.get("quantity")})
    decided, token = _decide_on_line(request, viewer, sku, removing, data)
    actor = viewer.principal.actor
    try:
        if removing:
            change(request, decided, lambda uow: carts.remove_line(uow, token, sku, actor=actor))
            return redirect("/shop/basket", notice="Removed from your basket.")
        body = CartLineUpdate.model_validate(data)
        change(request, decided, lambda uow: carts.update_line(uow, token, sku, body, actor=actor))
    except (ValidationError, DomainError) as exc:
        found = errors_of(exc, fields=())
        if isinstance(exc, DomainError):
            found = {"__all__": f"{sku}: {unavailable_message(exc)}"}
        elif "quantity" in str(exc):
            found = {"__all__": f"{sku}: the quantity must be a whole number from 0 to 999."}
        return basket_page(request, viewer, errors=found, status=_status(exc))
    return redirect("/shop/basket", notice="Your basket is updated.")


@router.post("/shop/basket/coupons", response_model=None)
def coupon(request: Request, posted: PostedDep) -> Response:
    """``POST /carts/{token}/coupons`` (a code for the basket) or, with the form's ``remove``
    button, ``DELETE /carts/{token}/coupons/{code}``: the discount is priced on the server."""
    viewer = customer_viewer(request)
    customer_id = _customer(viewer)
    current = read(request, lambda uow: active_cart(uow, customer_id, None))
    if current is None:
        return basket_page(request, viewer, errors={"__all__": "Your basket is empty."}, status=409)
    token, actor = current.token, viewer.principal.actor
    data = body_of(CouponApply, {"code": posted.get("code").strip().upper()})
    removing = "remove" in posted.values
    try:
        body = CouponApply.model_validate(data)
        if removing:
            params = {"token": token, "code": body.code}
            decided = authorize_as(request, viewer, "DELETE /carts/{token}/coupons/{code}", params)
            change(
                request,
                decided,
                lambda uow: carts.remove_coupon(uow, token, body.code, actor=actor),
            )
            return redirect("/shop/basket", notice=f"Coupon {body.code} removed.")
        decided = authorize_as(
            request, viewer, "POST /carts/{token}/coupons", {"token": token}, data
        )
        change(request, decided, lambda uow: carts.apply_coupon(uow, token, body.code, actor=actor))
    except (ValidationError, DomainError) as exc:
        found = errors_of(exc, fields=("code",))
        if isinstance(exc, DomainError):
            found = {"code": exc.detail}
        return basket_page(request, viewer, errors=found, status=_status(exc))
    return redirect("/shop/basket", notice=f"Coupon {body.code} applied.")


def _decide_on_line(
    request: Request, viewer: Viewer, sku: str, removing: bool, data: dict[str, Any]
) -> tuple[Decision, str]:
    customer_id = _customer(viewer)
    current = read(request, lambda uow: active_cart(uow, customer_id, None))
    if current is None:
        raise DomainError("your basket is empty", field="sku")
    params = {"token": current.token, "sku": sku}
    if removing:
        return authorize_as(request, viewer, "DELETE /carts/{token}/lines/{sku}", params), (
            current.token
        )
    operation = "PATCH /carts/{token}/lines/{sku}"
    return authorize_as(request, viewer, operation, params, data), current.token


def _status(exc: ValidationError | DomainError) -> int:
    return exc.status if isinstance(exc, DomainError) else 422
