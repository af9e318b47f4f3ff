"""Reactions to order events (delivered by the outbox relay): orders, cancellations and
refunds on the customer's timeline.

Customers sits below orders, so these handlers read only the event: the orders domain puts
the order number, customer, channel, total and lines in it, and the event's time is when the
order was placed.

- ``omniretail.orders.order_confirmed``: the order on the timeline (``activity.record_order``,
  keyed ``order:<number>``), counted in the 360's spend by channel.
- ``omniretail.orders.cancelled``: the order's amount drops by the voided amount, keyed by the
  event id; fails (and is retried) while the order is not on the timeline yet.
- ``omniretail.orders.refunded``: a return on the timeline, keyed by the return (``return_id``
  in the event, else the event id), with the refunded ``amount``, under the channel the order
  was placed in (the 360's spend by channel is net of returns).

Guest orders and orders of unknown or erased customers are skipped.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from omniretail.customers import activity, service
from omniretail.customers.errors import CustomerErased, UnknownCustomer
from omniretail.customers.schemas import OrderActivity
from omniretail.db.uow import UnitOfWork
from omniretail.messaging.handlers import CloudEvent, HandlerRegistry, SkipDelivery, UowFactory


def install(registry: HandlerRegistry) -> None:
    registry.add("omniretail.orders.order_confirmed", "customers.timeline_order", record_order)
    registry.add(
        "omniretail.orders.cancelled", "customers.timeline_cancellation", record_cancellation
    )
    registry.add("omniretail.orders.refunded", "customers.timeline_refund", record_refund)


def record_order(event: CloudEvent, uow_factory: UowFactory) -> None:
    data = event["data"]
    customer_id = _customer_of(data)
    with uow_factory() as uow:
        _require_customer(uow, customer_id)
        activity.record_order(
            uow,
            OrderActivity(
                customer_id=customer_id,
                number=data["order"],
                channel=data.get("channel") or "unknown",
                placed_at=datetime.fromisoformat(event["time"]),
                total=Decimal(str(data.get("total", "0"))),
                status="confirmed",
                lines=sum(int(ln.get("quantity", 0)) for ln in data.get("lines", [])),
            ),
        )


def record_cancellation(event: CloudEvent, uow_factory: UowFactory) -> None:
    data = event["data"]
    customer_id = _customer_of(data)
    with uow_factory() as uow:
        _require_customer(uow, customer_id)
        found = activity.record_order_cancellation(
            uow,
            data["order"],
            change_key=event["id"],
            amount=Decimal(str(data.get("amount", "0"))),
        )
    if not found:
        raise RuntimeError(f"order {data['order']} is not on the timeline yet; retry later")


def record_refund(event: CloudEvent, uow_factory: UowFactory) -> None:
    data = event["data"]
    customer_id = _customer_of(data)
    reference = str(data.get("return_id") or event["id"])
    with uow_factory() as uow:
        _require_customer(uow, customer_id)
        # Spend by channel is net: the return counts against the channel the order was
        # placed in, wherever the items came back.
        channel = activity.order_channel(uow, data["order"]) or data.get("location")
        activity.record_order(
            uow,
            OrderActivity(
                customer_id=customer_id,
                number=reference,
                channel=channel or "unknown",
                placed_at=datetime.fromisoformat(event["time"]),
                total=Decimal(str(data.get("amount", "0"))),
                kind="return",
                status="refunded",
                lines=sum(int(ln.get("quantity", 0)) for ln in data.get("lines", [])),
                source_key=f"return:{reference}",
            ),
        )


def _customer_of(data: dict[str, Any]) -> int:
    if data.get("customer_id") is None:
        raise SkipDelivery(f"order {data.get('order')} is a guest order: no profile")
    return int(data["customer_id"])


def _require_customer(uow: UnitOfWork, customer_id: int) -> None:
    try:
        service.resolve_id(uow, customer_id)
    except (UnknownCustomer, CustomerErased) as exc:
        raise SkipDelivery(f"customer {customer_id}: {exc.detail}") from exc
