"""Past-tense order events (``omniretail.orders.*`` in the outbox).

Customer-visible ones (what notifications are sent for): order_confirmed, ready_for_pickup,
pickup_reminder, shipped, delivered, collected, refunded, cancelled. Every event names the
order number and its tracking token so a handler can link to the tracking page without a read.
"""

from __future__ import annotations

from typing import Any

from omniretail.kernel.events import DomainEvent

CUSTOMER_VISIBLE = frozenset(
    {
        "orders.order_confirmed",
        "orders.ready_for_pickup",
        "orders.pickup_reminder",
        "orders.shipped",
        "orders.delivered",
        "orders.collected",
        "orders.refunded",
        "orders.cancelled",
    }
)


def order_event(name: str, number: str, **data: Any) -> DomainEvent:
    return DomainEvent(f"orders.{name}", f"orders/{number}", {"order": number, **data})


def cart_event(name: str, cart_id: str, **data: Any) -> DomainEvent:
    return DomainEvent(f"orders.cart_{name}", f"carts/{cart_id}", {"cart_id": cart_id, **data})


def routing_event(event: str, version: int, **data: Any) -> DomainEvent:
    return DomainEvent(
        f"orders.routing_{event}", f"routing/{version}", {"version": version, **data}
    )


def price_event(name: str, sku: str, channel: str, **data: Any) -> DomainEvent:
    return DomainEvent(
        f"orders.{name}", f"prices/{sku}@{channel}", {"sku": sku, "channel": channel, **data}
    )
