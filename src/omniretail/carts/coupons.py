"""Coupon codes on a cart: checked when applied, priced with the cart on every channel and
counted at checkout (``pricing.service.redeem_coupons``)."""

from __future__ import annotations

from omniretail.carts import repository as repo
from omniretail.carts.cart import get_cart
from omniretail.carts.errors import CartNotActive
from omniretail.carts.schemas import CartRead
from omniretail.carts.view import CartView, load_cart
from omniretail.db.uow import UnitOfWork
from omniretail.pricing import service as pricing
from omniretail.pricing.errors import CouponUnavailable, UnknownCoupon


def apply_coupon(
    uow: UnitOfWork, token: str, code: str, *, actor: str, customer_id: int | None = None
) -> CartRead:
    """The code on the cart when its customer may use it now: the cart's own customer, or
    for an anonymous cart ``customer_id``, the customer an associate identified at a till
    (never an id a client sends)."""
    cart = _active(uow, token)
    using = cart.customer_id if cart.customer_id is not None else customer_id
    coupon = pricing.require_usable_coupon(uow, code, using)
    if coupon not in cart.coupons:
        if len(cart.coupons) >= pricing.MAX_COUPONS:
            raise CouponUnavailable(
                f"a cart takes at most {pricing.MAX_COUPONS} coupons", field="code"
            )
        _store(uow, cart, (*cart.coupons, coupon))
    return get_cart(uow, token, customer_id=using)


def remove_coupon(uow: UnitOfWork, token: str, code: str, *, actor: str) -> CartRead:
    cart = _active(uow, token)
    wanted = code.strip().upper()
    if wanted not in cart.coupons:
        raise UnknownCoupon(f"the cart has no coupon {wanted!r}", field="code")
    _store(uow, cart, tuple(c for c in cart.coupons if c != wanted))
    return get_cart(uow, token)


def _active(uow: UnitOfWork, token: str) -> CartView:
    cart = load_cart(uow, token, priced=False)
    if cart.status != "active":
        raise CartNotActive(f"the cart is {cart.status}", field="token", cart_status=cart.status)
    return cart


def _store(uow: UnitOfWork, cart: CartView, codes: tuple[str, ...]) -> None:
    if not repo.set_coupon_codes(uow.session, cart.id, ",".join(codes) or None, uow.now):
        raise CartNotActive("the cart is no longer active", field="token", cart_status="closed")
