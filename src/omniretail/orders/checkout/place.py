"""``place_order``: the steps of a checkout, in order (see the package docstring)."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

from omniretail.carts.errors import CartEmpty, CartNotActive
from omniretail.carts.service import CartStatus, CartView, checkout_close, close_cart, load_cart
from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import LocationRead
from omniretail.customers import service as customers
from omniretail.customers.errors import CustomerErased, UnknownCustomer
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.ids import new_token
from omniretail.orders import contact
from omniretail.orders import repository as repo
from omniretail.orders.checkout.allocation import (
    allocate,
    destination_of,
    placed_for,
    route_cart,
    take_capacity,
)
from omniretail.orders.checkout.pending import Pending, confirmed_event
from omniretail.orders.checkout.rows import FulfilmentRow, LineRow, Placed, Plan
from omniretail.orders.errors import (
    CardNumberRefused,
    CartChanged,
    PaymentDeclined,
    PaymentUnavailable,
)
from omniretail.orders.models import OrderKind, OrderStatus
from omniretail.orders.payments import (
    Authorisation,
    Declined,
    PaymentProvider,
    ProviderTimeout,
    looks_like_card_number,
)
from omniretail.orders.schemas import (
    CheckoutCreate,
    FulfilmentChoice,
    OrderRead,
    PaymentRead,
)
from omniretail.pricing import service as pricing
from omniretail.routing import service as routing
from omniretail.routing.errors import OverCapacity
from omniretail.routing.service import (
    OrderPolicy,
    promise,
)

_ORDER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_order_number() -> str:
    return "OR-" + "".join(secrets.choice(_ORDER_ALPHABET) for _ in range(10))


def place_order(
    uow: UnitOfWork,
    token: str,
    data: CheckoutCreate,
    *,
    payments: PaymentProvider,
    policy: OrderPolicy,
    actor: str,
    customer_id: int | None = None,
) -> OrderRead:
    """The whole checkout in the caller's transaction, the payment authorised inside it (the
    till, the demo: a caller that must act on the order in the same transaction). A web or API
    checkout runs ``attempts.checkout_paid`` instead, which holds no lock while the provider
    answers.

    ``data.channel`` is the channel the order is sold on, priced for and recorded on (a
    store's till channel when an associate sells); the stock comes from the pool of the channel
    the cart reserved it on. ``customer_id``: the customer identified at a till for an
    anonymous cart (their own cart, with what it holds, stays theirs)."""
    order, _pending = _place(
        uow, token, data, payments=payments, policy=policy, actor=actor, customer_id=customer_id
    )
    uow.write_now()  # the caller acts on the order's rows in this transaction
    return order


def begin_order(
    uow: UnitOfWork,
    token: str,
    data: CheckoutCreate,
    *,
    payments: PaymentProvider,
    policy: OrderPolicy,
    actor: str,
    ttl: timedelta,
    customer_id: int | None = None,
    contact_of: int | None = None,
) -> Pending:
    """Checkout's first, short transaction: every step of ``place_order`` but the payment.
    The order is recorded ``awaiting_payment`` with a pending payment attempt that expires
    after ``ttl``; ``OrderConfirmed`` waits in the attempt until the provider approves."""
    _order, pending = _place(
        uow,
        token,
        data,
        payments=payments,
        policy=policy,
        actor=actor,
        customer_id=customer_id,
        ttl=ttl,
        contact_of=contact_of,
    )
    assert pending is not None
    return pending


def _place(
    uow: UnitOfWork,
    token: str,
    data: CheckoutCreate,
    *,
    payments: PaymentProvider,
    policy: OrderPolicy,
    actor: str,
    customer_id: int | None,
    ttl: timedelta | None = None,
    contact_of: int | None = None,
) -> tuple[OrderRead, Pending | None]:
    """``ttl`` None: authorise now, in this transaction; else record a pending attempt.
    ``contact_of``: the customer checking out themselves, whose own email the order's mails
    go to when the checkout names none."""
    _refuse_card_numbers(data)
    if data.contact_email is None and contact_of is not None:
        data = data.model_copy(update={"contact_email": _own_email(uow, contact_of)})
    cart = load_cart(
        uow, token, data.channel, method=data.fulfilment.method.value, customer_id=customer_id
    )
    channel = data.channel or cart.channel
    _require_open(cart)
    catalog.channel_settings(uow, channel)
    cart = _for_customer(cart, customer_id)
    total = _total(cart)
    currency = cart.context.currency
    plan = _plan(uow, cart, data.fulfilment, cart.channel, total)
    number = new_order_number()
    key = f"checkout:{cart.id}:{cart.version}"  # the provider's idempotency key
    payment_token = data.payment.provider_token
    tracking_token = new_token(24)
    delivery = _delivery(data.fulfilment, plan.destination)
    fee = cart.priced.fee if cart.priced else None
    fee_charged = pricing.fee_breakdown(fee, currency) if fee else None
    values = {
        "number": number,
        "kind": OrderKind.SALE.value,
        "status": OrderStatus.AWAITING_PAYMENT.value,
        "channel_code": channel,
        "customer_id": cart.customer_id,
        "currency": currency,
        "total": total,
        "placed_at": uow.now,
        **contact.seal_tracking_token(uow.vault, tracking_token),
        "cart_id": cart.id,
        **contact.seal(uow.vault, data.contact_email, delivery),
        "payment_provider": payments.name,
        "payment_token_enc": contact.seal_payment_token(uow.vault, payment_token),
        "payment_reference": None,
        "amount_authorised": Decimal(0),
        "amount_captured": Decimal(0),
        "amount_voided": Decimal(0),
        "routing_version": plan.version,
        "updated_at": uow.now,
        "fee": fee_charged,
    }
    authorisation: Authorisation | None = None
    if ttl is not None:
        # paid later: the order awaiting payment goes with the cart's close (one statement)
        order_id = _close_with_order(uow, cart, number, values)
    else:
        _close(uow, cart, number)
    if cart.coupons and cart.priced is not None:
        pricing.redeem_coupons(uow, cart.priced, number, cart.customer_id)
    holds = allocate(uow, plan.placed, cart, cart.channel, number, actor)
    if ttl is None:
        authorisation = authorise_payment(payments, payment_token, total, currency, key)
        values |= {
            "status": OrderStatus.CONFIRMED.value,
            "payment_reference": authorisation.reference,
            "amount_authorised": total,
        }
        order_id = repo.insert_order(uow.session, values)
    # The order's rows go with the outbox at commit (one statement on PostgreSQL).
    fulfilments = [_fulfilment_row(uow, order_id, p, plan.known, policy) for p in plan.placed]
    uow.later_rows(repo.fulfilments, [f.values() for f in fulfilments])
    lines = _line_rows(order_id, plan.placed, holds, currency)
    uow.later_rows(repo.order_lines, [ln.values() for ln in lines])
    confirmation: dict[str, Any] = {
        "order": number,
        "customer_id": cart.customer_id,
        "channel": channel,
        "total": str(total),
        "routing_version": plan.version,
        "fulfilments": [dataclasses.asdict(f.confirmed()) for f in fulfilments],
        "lines": [{"sku": ln.sku_code, "quantity": ln.quantity} for ln in lines],
    }
    pending = None
    if authorisation is not None:
        uow.record(confirmed_event(confirmation))
    else:
        assert ttl is not None
        pending = Pending(attempt=key, number=number, token=payment_token, amount=total)
        pending.insert(uow, cart.id, payments.name, currency, confirmation, ttl)
    order = OrderRead(
        number=number,
        status=OrderStatus.CONFIRMED.value,
        channel=channel,
        customer_id=cart.customer_id,
        currency=currency,
        total=total,
        placed_at=uow.now,
        tracking_url=contact.tracking_path(tracking_token),
        contact_email=data.contact_email,
        delivery=delivery,
        payment=PaymentRead(
            provider=payments.name,
            reference=authorisation.reference if authorisation else "",
            authorised=total,
            captured=Decimal(0),
            voided=Decimal(0),
            refunded=Decimal("0.00"),
        ),
        routing_version=plan.version,
        lines=[ln.read() for ln in lines],
        fulfilments=[f.read() for f in fulfilments],
        fee=fee_charged,
    )
    if pending is not None:
        pending.order = order
    return order, pending


def _own_email(uow: UnitOfWork, customer_id: int) -> str | None:
    """The customer's verified email; None without one (their order page is the receipt)."""
    try:
        return customers.verified_email(uow, customer_id, vault=uow.vault)
    except (UnknownCustomer, CustomerErased):
        return None


def _for_customer(cart: CartView, customer_id: int | None) -> CartView:
    if customer_id is None or cart.customer_id == customer_id:
        return cart
    if cart.customer_id is not None:
        raise CartNotActive(
            "this cart belongs to another customer", field="customer_id", cart_status=cart.status
        )
    return dataclasses.replace(cart, customer_id=customer_id)


def _refuse_card_numbers(data: CheckoutCreate) -> None:
    if looks_like_card_number(data.payment.provider_token):
        raise CardNumberRefused(
            "provider_token looks like a card number; tokenise the card with the payment"
            " provider and send its token",
            field="payment.provider_token",
        )


def _plan(
    uow: UnitOfWork, cart: CartView, choice: FulfilmentChoice, channel: str, total: Decimal
) -> Plan:
    """Routes the cart and takes ship-from-store capacity. The fast route is made without
    reading capacity: when a location turns out full, the cart is routed again with it."""
    known = routing.locations(uow)
    destination = destination_of(choice, known)
    version, rule_set = routing.rules_in_force(uow)
    rules = (version, rule_set)
    decision = route_cart(uow, cart, choice, channel, destination, total, rules)
    placed = placed_for(decision, cart)
    full = take_capacity(uow, placed, known, rule_set)
    if full is not None:
        decision = route_cart(uow, cart, choice, channel, destination, total, rules, fast=False)
        placed = placed_for(decision, cart)
        full = take_capacity(uow, placed, known, rule_set)
        if full is not None:
            raise OverCapacity(
                f"{full} used all its ship-from-store slots while checking out; try again",
                field="fulfilment",
                location=full,
            )
    return Plan(version=version, known=known, destination=destination, placed=placed)


def _close(uow: UnitOfWork, cart: CartView, number: str) -> None:
    """Closes the cart as checked out, unless it changed since it was read."""
    if not close_cart(
        uow.session,
        cart.id,
        expected_version=cart.version,
        status=CartStatus.CHECKED_OUT,
        now=uow.now,
        order_number=number,
    ):
        raise CartChanged(
            "the cart changed while checking out; review it and check out again", field="token"
        )


def _close_with_order(uow: UnitOfWork, cart: CartView, number: str, values: dict[str, Any]) -> int:
    """``_close`` and the order's row with it (written only if the cart closed); its id."""
    close, params = checkout_close(cart.id, cart.version, number, uow.now)
    order_id = repo.insert_order_closing(uow.session, values, close, params)
    if order_id is None:
        raise CartChanged(
            "the cart changed while checking out; review it and check out again", field="token"
        )
    return order_id


def authorise_payment(
    payments: PaymentProvider, token: str, total: Decimal, currency: str, key: str
) -> Authorisation:
    """The provider's answer, as the customer hears it: ``PaymentDeclined`` (402) or
    ``PaymentUnavailable`` (503)."""
    try:
        return payments.authorise(token, total, currency, key=key)
    except Declined as exc:
        raise PaymentDeclined(exc.reason, field="payment.provider_token") from exc
    except ProviderTimeout as exc:
        raise PaymentUnavailable(
            "the payment provider did not answer in time; nothing was charged, try again",
            field="payment",
        ) from exc


def _delivery(choice: FulfilmentChoice, destination: tuple[float, float] | None) -> dict[str, Any]:
    return {
        "method": choice.method.value,
        "pickup_location": choice.pickup_location,
        "latitude": destination[0] if destination else None,
        "longitude": destination[1] if destination else None,
        "address": choice.address,
    }


def _line_rows(
    order_id: int, placed: list[Placed], holds: dict[tuple[str, str], str], currency: str
) -> list[LineRow]:
    """The order's lines, numbered from 1 in the order of the fulfilments that take them.
    A cart line split over fulfilments shares its net and tax in proportion to quantity."""
    quantities: dict[str, list[int]] = {}
    for p in placed:
        for line, quantity in p.takes:
            quantities.setdefault(line.id, []).append(quantity)
    parts = {
        line.id: iter(pricing.split(line.pricing, quantities[line.id], currency))
        for p in placed
        for line, _q in p.takes
        if line.pricing is not None
    }
    rows: list[LineRow] = []
    for p in placed:
        for line, quantity in p.takes:
            amounts = next(parts[line.id])
            assert line.pricing is not None  # checked by _total
            rows.append(
                LineRow(
                    order_id=order_id,
                    line_no=len(rows) + 1,
                    sku_code=line.sku,
                    description=line.name,
                    quantity=quantity,
                    unit_price=line.unit_price,
                    fulfilment_id=p.id,
                    hold_id=holds[(p.id, line.id)],
                    net_amount=amounts["net"],
                    tax_amount=amounts["tax"],
                    pricing=pricing.breakdown(
                        line.pricing, {**amounts, "quantity": Decimal(quantity)}, currency
                    ),
                )
            )
    return rows


def _require_open(cart: CartView) -> None:
    if cart.status != CartStatus.ACTIVE.value:
        raise CartNotActive(
            f"the cart is {cart.status}"
            + (f" as order {cart.order_number}" if cart.order_number else ""),
            field="token",
            cart_status=cart.status,
            order_number=cart.order_number,
        )
    if not cart.lines:
        raise CartEmpty("add at least one line before checking out", field="lines")


def _total(cart: CartView) -> Decimal:
    """What the cart costs now (checkout re-prices at its own time, with the chosen method's
    fee), tax included."""
    if cart.priced is None:
        raise AssertionError("checkout reads a priced cart")
    pricing.require_priced(cart.priced)
    return cart.priced.gross


def _fulfilment_row(
    uow: UnitOfWork,
    order_id: int,
    p: Placed,
    known: dict[str, LocationRead],
    policy: OrderPolicy,
) -> FulfilmentRow:
    source = known[p.location]
    pickup = known.get(p.pickup_location) if p.pickup_location else None
    promised = promise(
        p.method,
        uow.now,
        policy,
        source_timezone=source.timezone,
        pickup_timezone=pickup.timezone if pickup else None,
        pickup_hours=dict(pickup.opening_hours) if pickup else None,
    )
    return FulfilmentRow(
        id=p.id,
        order_id=order_id,
        method=p.method.value,
        location_code=p.location,
        pickup_location_code=p.pickup_location,
        promised_date=promised.date,
        capacity_day=p.capacity_day,
        created_at=uow.now,
        updated_at=uow.now,
    )
