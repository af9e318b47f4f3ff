"""Reactions to order events (delivered by the outbox relay): points for a purchase, given
back for cancelled and returned lines.

- ``omniretail.orders.order_confirmed``: the order earns, pending until its return window
  closes (``service.earn_for_order``, keyed ``earn:order:<number>``). Lines, what was paid
  for each (``OrderLineRead.paid``: after promotions and coupons) and categories are read
  from the order and the catalog when the event arrives; lines already cancelled by then are
  left out (and their cancellation gives nothing back). Points a ``points`` promotion added
  (in the lines' pricing breakdown) earn as entries of their own, one per promotion. The
  relay delivers these events in batches (``earn_for_orders``): one transaction, the orders
  and categories read once.
- ``omniretail.orders.cancelled``: the cancelled lines' points are clawed back, keyed by the
  event id and line number.
- ``omniretail.orders.refunded`` (``orders.returns``): the returned lines' points are clawed
  back, keyed by the return (``return_id``, else the event id) and line number. Data used:
  ``order``, ``customer_id`` and ``lines`` as ``{line_no, sku, quantity}``.
- ``omniretail.orders.exchanged``: the returned lines are clawed back the same way (keyed by
  the exchange id, which its refund event shares) and the new lines earn as a purchase of
  their own (``earn:order:<order>#<exchange_id>``); a later return of a new line claws back
  from that earn.

- ``omniretail.loyalty.coupon_issued``: a programme coupon's code is emailed to the customer
  (notification ``loyalty_coupon``).

Every effect is keyed, so a redelivered event changes nothing. Guest orders, and orders of
customers that are unknown or erased, are skipped.

The other handlers take typed arguments (``claw_back_cancelled(uow_factory, meta, order=...,
...)``); ``install`` subscribes them to the typed events through thin adapters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from omniretail.catalog import service as catalog
from omniretail.customers import service as customers
from omniretail.customers.errors import ConsentRequired, CustomerErased, UnknownCustomer
from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import service
from omniretail.loyalty.events import CouponIssued
from omniretail.loyalty.schemas import ExtraPoints, OrderEarn, OrderLineEarn, OrderLineRef
from omniretail.messaging.handlers import (
    EventMeta,
    HandlerRegistry,
    SkipDelivery,
    Skips,
    UowFactory,
)
from omniretail.notifications.service import notify
from omniretail.orders import service as lookup
from omniretail.orders.errors import UnknownOrder
from omniretail.orders.events import OrderCancelled, OrderConfirmed, OrderExchanged, OrderRefunded
from omniretail.orders.schemas import OrderLineRead, OrderRead
from omniretail.pricing import service as pricing

ACTOR = "system:loyalty"
CANCELLED_LINE = "cancelled"


def install(registry: HandlerRegistry) -> None:
    # a guest's order earns nothing: no delivery is planned for it
    registry.on_batch(
        OrderConfirmed, "loyalty.earn_for_order", earn_for_orders, customers_only=True
    )
    registry.on(OrderCancelled, "loyalty.claw_back_cancelled", _cancelled, customers_only=True)
    registry.on(OrderRefunded, "loyalty.claw_back_refunded", _refunded, customers_only=True)
    registry.on(OrderExchanged, "loyalty.exchange", _exchanged, customers_only=True)
    registry.on(CouponIssued, "loyalty.notify_coupon", _coupon_issued)


def earn_for_orders(
    items: list[tuple[OrderConfirmed, EventMeta]], uow_factory: UowFactory
) -> Skips:
    """Each order earns as it is when its event arrives (lines, prices, categories), the
    orders of a batch in one transaction: their orders and categories are read once, then
    they earn one after another, in order of customer id (a customer's own in the order of
    their events), so relays that share the work lock accounts in the same order. Guest
    orders, orders gone since and those of unknown or erased customers are skipped."""
    skips: dict[str, str] = {}
    wanted = []
    for event, meta in items:
        if event.customer_id is None:
            skips[meta.id] = f"order {event.order} is a guest order: no points"
        else:
            wanted.append((event, meta))
    if not wanted:
        return skips
    with uow_factory() as uow:
        # the lines are what earns (not the fulfilments, nor the payment log)
        found = lookup.get_orders(
            uow, [e.order for e, _ in wanted], payment_log=False, fulfilments=False
        )
        skus = {ln.sku for order in found.values() for ln in order.lines if ln.sku}
        categories = catalog.categories_of(uow, skus)
        earning: dict[str, str] = {}  # order number -> event id
        earns = []
        for event, meta in sorted(wanted, key=lambda item: item[0].customer_id or 0):
            order = found.get(event.order)
            if order is None:
                skips[meta.id] = f"order {event.order} is gone"
            elif order.customer_id is None:
                skips[meta.id] = f"order {order.number} is a guest order: no points"
            else:
                earning[order.number] = meta.id
                earns.append(_order_earn(order, categories))
        refused = service.earn_for_orders(uow, earns, actor=ACTOR)
    skips.update((earning[number], why) for number, why in refused.items())
    return skips


def _order_earn(order: OrderRead, categories: dict[str, str | None]) -> OrderEarn:
    """What the order earns on: its lines not cancelled (the others are named excluded)."""
    assert order.customer_id is not None
    live = [ln for ln in order.lines if ln.status != CANCELLED_LINE and ln.quantity > 0]
    live_nos = {ln.line_no for ln in live}
    return OrderEarn(
        customer_id=order.customer_id,
        order_reference=order.number,
        channel=order.channel,
        placed_at=order.placed_at,
        lines=_line_earns(live, categories),
        excluded_line_ids=[ln.line_no for ln in order.lines if ln.line_no not in live_nos],
        extra_points=_extra_points(live),
    )


def claw_back_cancelled(
    uow_factory: UowFactory,
    meta: EventMeta,
    *,
    order: str,
    customer_id: int | None,
    lines: list[OrderLineRef],
) -> None:
    """Cancelled lines were never bought. When the order has not earned yet, there is nothing
    to do: the earn, when it comes, leaves the cancelled lines out."""
    if customer_id is None:
        raise SkipDelivery(f"order {order} is a guest order: no points")
    with uow_factory() as uow:
        service.claw_back_lines(uow, order, lines, key=f"cancel:{meta.id}", actor=ACTOR)


def claw_back_refunded(
    uow_factory: UowFactory,
    meta: EventMeta,
    *,
    order: str,
    customer_id: int | None,
    return_id: str | None,
    lines: list[OrderLineRef],
) -> None:
    """Returned lines give back exactly what they earned. The order's earn must come first:
    if it has not been delivered yet, this delivery fails and is retried after it."""
    if customer_id is None:
        raise SkipDelivery(f"order {order} is a guest order: no points")
    reference = return_id or meta.id
    with uow_factory() as uow:
        _require_customer(uow, customer_id)
        done = service.claw_back_lines(uow, order, lines, key=f"return:{reference}", actor=ACTOR)
    if done is None:
        raise RuntimeError(f"order {order} has not earned its points yet; retry later")


def exchange(
    uow_factory: UowFactory,
    meta: EventMeta,
    *,
    order: str,
    customer_id: int | None,
    exchange_id: str,
    returned: list[OrderLineRef],
    new_skus: set[str],
) -> None:
    """The returned lines give back what they earned (keyed like the exchange's refund, so a
    refund event of the same exchange takes nothing twice); the new lines handed over earn
    as a purchase of their own, ``<order>#<exchange_id>``, pending from the exchange."""
    if customer_id is None:
        raise SkipDelivery(f"order {order} is a guest order: no points")
    number = order
    with uow_factory() as uow:
        _require_customer(uow, customer_id)
        if (
            service.claw_back_lines(uow, number, returned, key=f"return:{exchange_id}", actor=ACTOR)
            is None
        ):
            raise RuntimeError(f"order {number} has not earned its points yet; retry later")
        try:
            found = lookup.get_order(uow, number)
        except UnknownOrder as exc:
            raise SkipDelivery(f"order {number} is gone") from exc
        known = service.known_order_lines(uow, number)
        new = [
            ln
            for ln in found.lines
            if ln.line_no not in known
            and ln.sku in new_skus
            and ln.status != CANCELLED_LINE
            and ln.quantity > 0
        ]
        categories = catalog.categories_of(uow, {ln.sku for ln in new if ln.sku})
        service.earn_for_order(
            uow,
            OrderEarn(
                customer_id=customer_id,
                order_reference=f"{number}#{exchange_id}",
                channel=found.channel,
                placed_at=meta.time,
                lines=_line_earns(new, categories),
                extra_points=_extra_points(new),
            ),
            actor=ACTOR,
        )


def notify_coupon(
    uow_factory: UowFactory,
    meta: EventMeta,
    *,
    customer_id: int,
    code: str,
    kind: str,
    promotion: str,
    valid_until: str,
) -> None:
    """The customer is emailed the code of a programme coupon (birthday, welcome): a service
    message about their account, once per event. No email address: nothing is sent (the
    code is in their account)."""
    if not promotion or not customer_id:
        raise SkipDelivery(f"coupon {code} is a loyalty coupon: shown in the account only")
    with uow_factory() as uow:
        try:
            email = customers.contact_address(
                uow, customer_id, "email", purpose="service", vault=uow.vault
            )
            profile = customers.get_customer(uow, customer_id, vault=uow.vault)
        except (ConsentRequired, UnknownCustomer, CustomerErased) as exc:
            raise SkipDelivery(f"customer {customer_id}: {exc.detail}") from exc
        offer = pricing.get_promotion(uow, promotion).name
        notify(
            uow,
            "loyalty_coupon",
            "email",
            email,
            {
                "customer_name": profile.name or "there",
                "title": "Happy birthday" if kind == "birthday" else "Welcome",
                "coupon_code": code,
                "offer": offer,
                "valid_until": valid_until[:10],
            },
            meta.id,
            customer_ref=str(customer_id),
        )


# --- from the typed order events to the use cases above -------------------------------------


def _cancelled(event: OrderCancelled, meta: EventMeta, uow_factory: UowFactory) -> None:
    claw_back_cancelled(
        uow_factory,
        meta,
        order=event.order,
        customer_id=event.customer_id,
        lines=_line_refs(event.lines),
    )


def _refunded(event: OrderRefunded, meta: EventMeta, uow_factory: UowFactory) -> None:
    claw_back_refunded(
        uow_factory,
        meta,
        order=event.order,
        customer_id=event.customer_id,
        return_id=event.return_id or None,
        lines=_line_refs(event.lines),
    )


def _exchanged(event: OrderExchanged, meta: EventMeta, uow_factory: UowFactory) -> None:
    exchange(
        uow_factory,
        meta,
        order=event.order,
        customer_id=event.customer_id,
        exchange_id=event.exchange_id,
        returned=_line_refs(event.returned),
        new_skus={ln["sku"] for ln in event.new_lines},
    )


def _coupon_issued(event: CouponIssued, meta: EventMeta, uow_factory: UowFactory) -> None:
    notify_coupon(
        uow_factory,
        meta,
        customer_id=event.customer_id,
        code=event.code,
        kind=event.kind,
        promotion=event.promotion,
        valid_until=event.valid_until,
    )


def _line_refs(lines: list[dict[str, Any]]) -> list[OrderLineRef]:
    return [OrderLineRef.model_validate(ln) for ln in lines]


def _require_customer(uow: UnitOfWork, customer_id: int) -> None:
    with _skipped_if_gone(customer_id):
        customers.resolve_id(uow, customer_id)


@contextmanager
def _skipped_if_gone(customer_id: int) -> Iterator[None]:
    """An unknown or erased customer skips the delivery: nothing to earn or give back."""
    try:
        yield
    except (UnknownCustomer, CustomerErased) as exc:
        raise SkipDelivery(f"customer {customer_id}: {exc.detail}") from exc


def _line_earns(
    lines: list[OrderLineRead], categories: dict[str, str | None]
) -> list[OrderLineEarn]:
    """Each line earns on what was paid for it (after promotions and coupons)."""
    return [
        OrderLineEarn(
            line_id=ln.line_no,
            amount=ln.paid,
            quantity=ln.quantity,
            category=categories.get(ln.sku or ""),
            sku=ln.sku,
        )
        for ln in lines
    ]


def _extra_points(lines: list[OrderLineRead]) -> list[ExtraPoints]:
    """Points a ``points`` promotion added to the order (a zero-money adjustment in a line's
    pricing breakdown). A cart line split over fulfilments repeats its breakdown on each
    order line, so a promotion counts once per SKU."""
    seen: dict[tuple[str, str], ExtraPoints] = {}
    for ln in lines:
        for a in (ln.pricing or {}).get("adjustments", []):
            points = int(a.get("points") or 0)
            if points <= 0:
                continue
            source = str(a.get("source") or a.get("name") or "promotion")
            seen.setdefault(
                (source, ln.sku or str(ln.line_no)),
                ExtraPoints(name=str(a.get("name") or source), source=source, points=points),
            )
    merged: dict[str, ExtraPoints] = {}
    for extra in seen.values():
        known = merged.get(extra.source)
        merged[extra.source] = (
            extra
            if known is None
            else known.model_copy(update={"points": known.points + extra.points})
        )
    return [merged[k] for k in sorted(merged)]
