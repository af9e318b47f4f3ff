"""Reactions to order events (delivered by the outbox relay): points for a purchase, given
back for cancelled and returned lines.

- ``omniretail.orders.order_confirmed``: the order earns, pending until its return window
  closes (``service.earn_for_order``, keyed ``earn:order:<number>``). Lines, prices and
  categories are read from the order and the catalog when the event arrives; lines already
  cancelled by then are left out (and their cancellation gives nothing back).
- ``omniretail.orders.cancelled``: the cancelled lines' points are clawed back, keyed by the
  event id and line number.
- ``omniretail.orders.refunded`` (``orders.returns``): the returned lines' points are clawed
  back, keyed by the return (``return_id``, else the event id) and line number. Data used:
  ``order``, ``customer_id`` and ``lines`` as ``{line_no, sku, quantity}``.
- ``omniretail.orders.exchanged``: the returned lines are clawed back the same way (keyed by
  the exchange id, which its refund event shares) and the new lines earn as a purchase of
  their own (``earn:order:<order>#<exchange_id>``); a later return of a new line claws back
  from that earn.

Every effect is keyed, so a redelivered event changes nothing. Guest orders, and orders of
customers that are unknown or erased, are skipped.
"""

from __future__ import annotations

from datetime import datetime

from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownProduct, UnknownSku
from omniretail.customers import service as customers
from omniretail.customers.errors import CustomerErased, UnknownCustomer
from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import service
from omniretail.loyalty.schemas import OrderEarn, OrderLineEarn, OrderLineRef
from omniretail.messaging.handlers import CloudEvent, HandlerRegistry, SkipDelivery, UowFactory
from omniretail.orders import service as lookup
from omniretail.orders.errors import UnknownOrder

ACTOR = "system:loyalty"
CANCELLED_LINE = "cancelled"


def install(registry: HandlerRegistry) -> None:
    registry.add("omniretail.orders.order_confirmed", "loyalty.earn_for_order", earn_for_order)
    registry.add("omniretail.orders.cancelled", "loyalty.claw_back_cancelled", claw_back_cancelled)
    registry.add("omniretail.orders.refunded", "loyalty.claw_back_refunded", claw_back_refunded)
    registry.add("omniretail.orders.exchanged", "loyalty.exchange", exchange)


def earn_for_order(event: CloudEvent, uow_factory: UowFactory) -> None:
    data = event["data"]
    if data.get("customer_id") is None:
        raise SkipDelivery(f"order {data['order']} is a guest order: no points")
    with uow_factory() as uow:
        try:
            order = lookup.get_order(uow, data["order"])
        except UnknownOrder as exc:
            raise SkipDelivery(f"order {data['order']} is gone") from exc
        if order.customer_id is None:
            raise SkipDelivery(f"order {order.number} is a guest order: no points")
        _require_customer(uow, order.customer_id)
        categories = _categories(uow, {ln.sku for ln in order.lines if ln.sku})
        live = [ln for ln in order.lines if ln.status != CANCELLED_LINE and ln.quantity > 0]
        live_nos = {ln.line_no for ln in live}
        service.earn_for_order(
            uow,
            OrderEarn(
                customer_id=order.customer_id,
                order_reference=order.number,
                channel=order.channel,
                placed_at=order.placed_at,
                lines=[
                    OrderLineEarn(
                        line_id=ln.line_no,
                        amount=ln.unit_price * ln.quantity,
                        quantity=ln.quantity,
                        category=categories.get(ln.sku or ""),
                        sku=ln.sku,
                    )
                    for ln in live
                ],
                excluded_line_ids=[ln.line_no for ln in order.lines if ln.line_no not in live_nos],
            ),
            actor=ACTOR,
        )


def claw_back_cancelled(event: CloudEvent, uow_factory: UowFactory) -> None:
    """Cancelled lines were never bought. When the order has not earned yet, there is nothing
    to do: the earn, when it comes, leaves the cancelled lines out."""
    data = event["data"]
    if data.get("customer_id") is None:
        raise SkipDelivery(f"order {data['order']} is a guest order: no points")
    lines = [OrderLineRef.model_validate(ln) for ln in data.get("lines", [])]
    with uow_factory() as uow:
        service.claw_back_lines(uow, data["order"], lines, key=f"cancel:{event['id']}", actor=ACTOR)


def claw_back_refunded(event: CloudEvent, uow_factory: UowFactory) -> None:
    """Returned lines give back exactly what they earned. The order's earn must come first:
    if it has not been delivered yet, this delivery fails and is retried after it."""
    data = event["data"]
    if data.get("customer_id") is None:
        raise SkipDelivery(f"order {data['order']} is a guest order: no points")
    lines = [OrderLineRef.model_validate(ln) for ln in data.get("lines", [])]
    reference = data.get("return_id") or event["id"]
    with uow_factory() as uow:
        _require_customer(uow, int(data["customer_id"]))
        done = service.claw_back_lines(
            uow, data["order"], lines, key=f"return:{reference}", actor=ACTOR
        )
    if done is None:
        raise RuntimeError(f"order {data['order']} has not earned its points yet; retry later")


def exchange(event: CloudEvent, uow_factory: UowFactory) -> None:
    """The returned lines give back what they earned (keyed like the exchange's refund, so a
    refund event of the same exchange takes nothing twice); the new lines handed over earn
    as a purchase of their own, ``<order>#<exchange_id>``, pending from the exchange."""
    data = event["data"]
    if data.get("customer_id") is None:
        raise SkipDelivery(f"order {data['order']} is a guest order: no points")
    number, exchange_id = data["order"], data["exchange_id"]
    returned = [OrderLineRef.model_validate(ln) for ln in data.get("returned", [])]
    new_skus = {ln["sku"] for ln in data.get("new_lines", [])}
    with uow_factory() as uow:
        _require_customer(uow, int(data["customer_id"]))
        if (
            service.claw_back_lines(uow, number, returned, key=f"return:{exchange_id}", actor=ACTOR)
            is None
        ):
            raise RuntimeError(f"order {number} has not earned its points yet; retry later")
        try:
            order = lookup.get_order(uow, number)
        except UnknownOrder as exc:
            raise SkipDelivery(f"order {number} is gone") from exc
        known = service.known_order_lines(uow, number)
        new = [
            ln
            for ln in order.lines
            if ln.line_no not in known
            and ln.sku in new_skus
            and ln.status != CANCELLED_LINE
            and ln.quantity > 0
        ]
        categories = _categories(uow, {ln.sku for ln in new if ln.sku})
        service.earn_for_order(
            uow,
            OrderEarn(
                customer_id=int(data["customer_id"]),
                order_reference=f"{number}#{exchange_id}",
                channel=order.channel,
                placed_at=datetime.fromisoformat(event["time"]),
                lines=[
                    OrderLineEarn(
                        line_id=ln.line_no,
                        amount=ln.unit_price * ln.quantity,
                        quantity=ln.quantity,
                        category=categories.get(ln.sku or ""),
                        sku=ln.sku,
                    )
                    for ln in new
                ],
            ),
            actor=ACTOR,
        )


def _require_customer(uow: UnitOfWork, customer_id: int) -> None:
    try:
        customers.resolve_id(uow, customer_id)
    except (UnknownCustomer, CustomerErased) as exc:
        raise SkipDelivery(f"customer {customer_id}: {exc.detail}") from exc


def _categories(uow: UnitOfWork, skus: set[str]) -> dict[str, str | None]:
    """Each SKU's product category (for category earn rates and campaigns)."""
    found: dict[str, str | None] = {}
    by_product: dict[str, str | None] = {}
    for sku in sorted(skus):
        try:
            product = catalog.get_sku(uow, sku).product_code
            if product not in by_product:
                by_product[product] = catalog.get_product(uow, product).category
        except (UnknownSku, UnknownProduct):
            continue
        found[sku] = by_product[product]
    return found
