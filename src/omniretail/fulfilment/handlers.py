"""Reactions to order events: the customer's notifications (through ``messaging.notify``),
and coupon uses given back by an order cancelled or returned in full.

Each notifier takes a relay batch in one transaction: per event it reads the order and builds
the template context, then the batch's emails are queued together (``notify_many``, keyed on
the event id, so a redelivered event sends nothing twice). Events of orders without a contact
email are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from omniretail.fulfilment import repository as repo
from omniretail.fulfilment.events import (
    CurbsideArrived,
    Delivered,
    PickupReminder,
    PickupStoreChanged,
    ReadyForPickup,
    ReturnRequested,
    Shipped,
)
from omniretail.fulfilment.refunds import refunds_of_order
from omniretail.fulfilment.schemas import RefundLineRead
from omniretail.kernel.events import Event
from omniretail.kernel.money import format_money
from omniretail.messaging.handlers import (
    EventMeta,
    HandlerRegistry,
    SkipDelivery,
    Skips,
    UowFactory,
)
from omniretail.notifications.service import Notice, notify, notify_many
from omniretail.orders import service as orders
from omniretail.orders.errors import UnknownOrder
from omniretail.orders.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderExchanged,
    OrderRefunded,
)
from omniretail.orders.schemas import OrderRead, email_items, paid_amount
from omniretail.orders.service import LineStatus
from omniretail.pricing import service as pricing
from omniretail.routing import service as routing

# The events a customer is notified of; the notification kind (messaging templates) is the
# event's name (``orders.<name>``), the handler ``orders.notify_<name>``.
NOTIFIED: tuple[type[Event], ...] = (
    OrderConfirmed,
    ReadyForPickup,
    PickupReminder,
    PickupStoreChanged,
    Shipped,
    Delivered,
    OrderRefunded,
    OrderCancelled,
    OrderExchanged,
    ReturnRequested,
)


def install(registry: HandlerRegistry, *, public_base_url: str) -> None:
    for event_class in NOTIFIED:
        kind = event_class.type.removeprefix("orders.")
        registry.on_batch(
            event_class, f"orders.notify_{kind}", _notifier(kind, public_base_url.rstrip("/"))
        )
    registry.on(CurbsideArrived, "orders.notify_curbside_arrived", _tell_the_store)
    registry.on(OrderCancelled, "pricing.give_back_coupons", _give_back_coupons)
    registry.on(OrderRefunded, "pricing.give_back_returned_coupons", _give_back_returned)


def _give_back_coupons(event: OrderCancelled, meta: EventMeta, uow_factory: UowFactory) -> None:
    """A whole order cancelled gives its coupon uses back (a partial one keeps them)."""
    if event.partial is not False:
        return
    with uow_factory() as uow:
        pricing.give_back_coupons(uow, event.order)


def _give_back_returned(event: OrderRefunded, meta: EventMeta, uow_factory: UowFactory) -> None:
    """An order returned in full (nothing kept, an exchange's new items included) gives its
    coupon uses back; a partial return keeps them. Giving back happens once per use, so a
    redelivered event changes nothing."""
    with uow_factory() as uow:
        order = repo.get_order_by_number(uow.session, event.order)
        if order is None:
            raise SkipDelivery(f"order {event.order} is gone")
        sold = [
            ln
            for ln in repo.lines_of_order(uow.session, order.id)
            if ln.sku_code and ln.status != LineStatus.CANCELLED.value
        ]
        if sold and all(ln.quantity_returned >= ln.quantity for ln in sold):
            pricing.give_back_coupons(uow, event.order)


def _notifier(
    kind: str, base_url: str
) -> Callable[[list[tuple[Event, EventMeta]], UowFactory], Skips]:
    def handle(items: list[tuple[Event, EventMeta]], uow_factory: UowFactory) -> Skips:
        skips: dict[str, str] = {}
        notices: list[Notice] = []
        datas = [(event.data, meta) for event, meta in items]  # ``data`` copies: once each
        with uow_factory() as uow:
            numbers = [str(data["order"]) for data, _ in datas]
            found = orders.get_orders(uow, numbers, payment_log=False)  # the emails show none
            for data, meta in datas:
                try:
                    order = found.get(str(data["order"]))
                    notices.append(_notice(uow, kind, order, data, meta, base_url))
                except SkipDelivery as skip:
                    skips[meta.id] = str(skip)
            notify_many(uow, notices)
        return skips

    return handle


def _notice(
    uow: Any,
    kind: str,
    order: OrderRead | None,
    data: dict[str, Any],
    meta: EventMeta,
    base_url: str,
) -> Notice:
    """The email of one event about ``order`` (None: not found); raises ``SkipDelivery`` when
    there is none to send."""
    if kind == "shipped" and data.get("method") == "ship_to_store":
        raise SkipDelivery("sent to the pickup store: the customer hears when it arrives")
    if order is None:
        raise SkipDelivery(f"order {data['order']} is gone")
    if not order.contact_email:
        raise SkipDelivery(f"order {order.number} has no contact email")
    return Notice(
        kind=kind,
        channel="email",
        recipient=order.contact_email,
        context=_context(uow, kind, order, data, base_url),
        source_event_id=meta.id,
        customer_ref=str(order.customer_id) if order.customer_id else None,
    )


def _code_to_send(uow: Any, fulfilment_id: str) -> str:
    """The pickup code of a fulfilment still waiting to be collected (events carry none)."""
    f = repo.get_fulfilment(uow.session, fulfilment_id)
    code = orders.waiting_pickup_code(uow.vault, f) if f is not None else None
    if code is None:
        raise SkipDelivery(f"fulfilment {fulfilment_id} is no longer waiting to be collected")
    return code


def _context(
    uow: Any, kind: str, order: OrderRead, data: dict[str, Any], base_url: str
) -> dict[str, Any]:
    name = (order.delivery or {}).get("address", {}).get("name") or "there"
    context: dict[str, Any] = {
        "order_number": order.number,
        "customer_name": name,
        "currency": order.currency,
        "tracking_url": f"{base_url}{order.tracking_url}" if order.tracking_url else None,
    }
    fulfilment_id = data.get("fulfilment_id")
    lines = [
        ln
        for ln in order.lines
        if (fulfilment_id is None or ln.fulfilment_id == fulfilment_id) and ln.status != "cancelled"
    ]
    context["items"] = email_items(lines)
    if kind == "order_confirmed":
        # The order as placed, as the total and the payment held are: a line cancelled before
        # the email goes out is listed as cancelled (its own email follows).
        context["items"] = email_items(order.lines, order.fee)
        context["total"] = order.total
        pickups = {f.pickup_location for f in order.fulfilments if f.status != "rejected"}
        if len(pickups) == 1 and None not in pickups:  # collected from one place
            context["store"] = _store(uow, str(pickups.pop()))
    if kind in ("ready_for_pickup", "pickup_reminder"):
        context["pickup_code"] = _code_to_send(uow, str(data.get("fulfilment_id", "")))
        context["pickup_deadline"] = data.get("collect_by", "")[:16].replace("T", " ")
        context["store"] = _store(uow, data.get("pickup_location") or "")
        if data.get("arrived_at_store"):
            context["arrived_at_store"] = True
        if data.get("method") == "curbside":
            context["curbside"] = True
    if kind == "pickup_store_changed":
        context["store"] = _store(uow, data.get("pickup_location") or "")
        if data.get("from_store"):
            context["previous_store"] = _store(uow, data["from_store"])["name"]
    if kind == "exchanged":
        context["difference"] = data.get("difference", "0")
        context["store"] = _store(uow, data.get("location") or "")
        sku_names = {ln.sku: ln.name or ln.sku for ln in order.lines}
        context["returned"] = [
            {"name": sku_names.get(r["sku"], r["sku"]), "quantity": r["quantity"]}
            for r in data.get("returned", [])
        ]
        context["items"] = [
            {"name": sku_names.get(n["sku"], n["sku"]), "quantity": n["quantity"]}
            for n in data.get("new_lines", [])
        ]
    if kind == "return_requested":
        context.update(_return_context(uow, order, data, base_url))
    if kind == "shipped":
        context["carrier"] = data.get("carrier") or "our courier"
        context["tracking_number"] = data.get("tracking_number") or "not given"
        promised = next((f.promised_date for f in order.fulfilments if f.id == fulfilment_id), None)
        if promised is not None:
            context["estimated_delivery"] = promised.isoformat()
    if kind == "cancelled":
        context["reason"] = data.get("reason")
        context["amount"] = data.get("amount")
        # What the event says (the order may have changed since); older events lack it.
        context["partial"] = data.get(
            "partial", order.status not in ("cancelled", "returned_to_stock")
        )
        # What the units were paid (promotions and coupons included): what is voided.
        cancelled = {ln.line_no: ln for ln in order.lines}
        context["items"] = [
            {
                "name": _name(cancelled[r["line_no"]]) if r["line_no"] in cancelled else r["sku"],
                "quantity": r["quantity"],
                **(
                    {"line_total": _paid_for(cancelled[r["line_no"]], r["quantity"])}
                    if r["line_no"] in cancelled
                    else {}
                ),
            }
            for r in data.get("lines", [])
        ]
    if kind == "refunded":
        context["refund_amount"] = data.get("amount", "0")
        context["reason"] = data.get("reason")
        context.update(_refund_context(uow, order, data))
    return {k: v for k, v in context.items() if v is not None}


def _name(line: Any) -> str:
    return str(line.name or line.sku)


def _paid_for(line: Any, quantity: int) -> Decimal:
    return paid_amount(quantity, line.unit_price, line.net, line.tax, line.pricing)


def _refund_context(uow: Any, order: OrderRead, data: dict[str, Any]) -> dict[str, Any]:
    """The refunded items with what each refunds and its tax, and what was kept back (a
    broken buy X get Y), from the refund's breakdown (older refunds: the items only)."""
    names = {ln.line_no: ln.name or ln.sku for ln in order.lines}
    found = [r for r in refunds_of_order(uow, order.number) if r.return_id == data["return_id"]]
    if not found or found[0].net is None:
        return {
            "items": [
                {"name": names.get(r["line_no"], r["sku"]), "quantity": r["quantity"]}
                for r in data.get("lines", [])
            ]
        }
    refund = found[0]
    context: dict[str, Any] = {
        "items": [
            {
                "name": names.get(ln.line_no, ln.sku or ""),
                "quantity": ln.quantity,
                "line_total": ln.amount,
                **({"tax_note": _tax_note(ln, order.currency)} if ln.tax is not None else {}),
            }
            for ln in refund.lines
        ],
        "refund_tax": refund.tax,
    }
    if refund.kept_back:
        context["kept_back"] = [k.note for k in refund.kept_back]
    return context


def _tax_note(line: RefundLineRead, currency: str) -> str:
    """ "incl. £6.67 VAT at 20%" (the rate as recorded at the sale)."""
    rate = f" at {(line.tax_rate * 100).normalize():f}%" if line.tax_rate is not None else ""
    return f"incl. {format_money(line.tax or 0, currency)} {line.tax_name or 'tax'}{rate}"


def _return_context(
    uow: Any, order: OrderRead, data: dict[str, Any], base_url: str
) -> dict[str, Any]:
    names = {ln.line_no: ln.name or ln.sku for ln in order.lines}
    context: dict[str, Any] = {
        "return_code": data["code"],
        "method": data["method"],
        "return_by": data["expires_at"][:10],
        "return_url": f"{base_url}/account/returns/{data['code']}",
        "items": [
            {"name": names.get(r["line_no"], r["sku"]), "quantity": r["quantity"]}
            for r in data.get("lines", [])
        ],
    }
    if data.get("destination"):
        context["store"] = _store(uow, data["destination"])
    return context


def _store(uow: Any, code: str) -> dict[str, Any]:
    pickup = routing.locations(uow).get(code)
    if pickup is None:
        return {"name": code, "address": ""}
    return {
        "name": pickup.name,
        "address": pickup.address,
        **(
            {"hours": ", ".join(f"{d} {h}" for d, h in pickup.opening_hours.items())}
            if pickup.opening_hours
            else {}
        ),
    }


def _tell_the_store(event: CurbsideArrived, meta: EventMeta, uow_factory: UowFactory) -> None:
    """A curbside customer pressed "I'm here": a push to the store's devices
    (``store:<code>``), with the bay and the car they gave."""
    data = event.data
    with uow_factory() as uow:
        try:
            order = orders.get_order(uow, data["order"])
        except UnknownOrder as exc:
            raise SkipDelivery(f"order {data['order']} is gone") from exc
        name = (order.delivery or {}).get("address", {}).get("name") or "the customer"
        lines = [ln for ln in order.lines if ln.fulfilment_id == data.get("fulfilment_id")]
        context: dict[str, Any] = {
            "order_number": order.number,
            "customer_name": name,
            "currency": order.currency,
            "store": _store(uow, data["location"]),
            "items": [{"name": ln.name or ln.sku, "quantity": ln.quantity} for ln in lines],
            **{k: data[k] for k in ("bay", "vehicle") if data.get(k)},
        }
        vehicle = _vehicle(uow, data)
        if vehicle:
            context["vehicle"] = vehicle
        notify(uow, "curbside_arrived", "push", f"store:{data['location']}", context, meta.id)


def _vehicle(uow: Any, data: dict[str, Any]) -> str | None:
    """What the customer said they drive, from the log entry of this arrival (the n-th of
    the fulfilment); events carry no personal data."""
    order = repo.get_order_by_number(uow.session, data["order"])
    if order is None or not data.get("arrival"):
        return None
    arrivals = [
        e
        for e in repo.log_of_order(uow.session, order.id)
        if e.action == "customer_arrived" and e.fulfilment_id == data.get("fulfilment_id")
    ]
    n = int(data["arrival"])
    return arrivals[n - 1].detail.get("vehicle") if len(arrivals) >= n else None
