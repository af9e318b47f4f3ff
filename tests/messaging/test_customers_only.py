"""Handlers registered ``customers_only`` get no delivery for a guest's event (its
``customer_id`` null): nothing is written or claimed for them, the other handlers still get
it, and an event without the field (stored before it existed) is planned as before. Then
the real handlers: a guest's cart and order plan only what a guest needs (SQLite and
PostgreSQL)."""

from __future__ import annotations

import random
from typing import Any

from omniretail.kernel.events import DomainEvent
from omniretail.messaging.handlers import HandlerRegistry
from omniretail.messaging.models import Delivery
from omniretail.messaging.relay import Relay
from tests.customers.helpers import make_customer
from tests.messaging.conftest import deliveries, outbox, record
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive


def made(n: int, **data: Any) -> DomainEvent:
    return DomainEvent("test.thing_made", f"things/{n}", {"n": n, **data})


def test_a_guests_event_is_planned_only_for_the_handlers_that_serve_guests(container):
    seen: dict[str, list[int]] = {"all": [], "customers": []}
    registry = HandlerRegistry()
    registry.add("*", "test.all", lambda e, _f: seen["all"].append(e["data"]["n"]))
    registry.add(
        "*",
        "test.customers",
        lambda e, _f: seen["customers"].append(e["data"]["n"]),
        customers_only=True,
    )
    record(
        container,
        made(1, customer_id=None),  # a guest's
        made(2, customer_id=7),
        made(3),  # no such field: an event of another kind, or stored before it was added
        made(4, customer_id=0),
    )

    report = Relay(container.uow, registry, rng=random.Random(1)).run_once()

    assert seen == {"all": [1, 2, 3, 4], "customers": [2, 3, 4]}
    assert report.dead == 0
    planned = sorted((d.handler, d.position) for d in deliveries(container))
    assert [h for h, _ in planned].count("test.customers") == 3
    assert all(m.published_at is not None for m in outbox(container))


def test_a_guests_event_that_only_customer_handlers_want_is_published_at_once(container):
    registry = HandlerRegistry()
    registry.add("*", "test.customers", lambda e, _f: None, customers_only=True)
    record(container, made(1, customer_id=None))

    report = Relay(container.uow, registry, rng=random.Random(1)).run_once()

    assert deliveries(container) == []
    assert report.published == 1
    assert [m.published_at is not None for m in outbox(container)] == [True]


def relay(container: Any, clock: Any) -> Any:
    clock.advance(seconds=1)
    return container.relay().run_until_idle()


def _planned(container: Any, event_type: str) -> set[str]:
    with container.read_uow() as uow:
        from omniretail.db.outbox import OutboxMessage

        return {
            handler
            for (handler,) in uow.session.query(Delivery.handler)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .filter(OutboxMessage.type == f"omniretail.{event_type}")
        }


def test_a_guests_cart_and_order_plan_no_segment_journey_points_or_timeline_work(
    container, client, clock
):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    ok(checkout(client, token), 201)

    report = relay(container, clock)

    assert report.dead == 0
    assert _planned(container, "orders.cart_created") == set()
    assert _planned(container, "orders.cart_line_added") == set()
    # the confirmation email still goes to the guest
    assert _planned(container, "orders.order_confirmed") == {"orders.notify_order_confirmed"}
    assert {d.status for d in deliveries(container)} == {"delivered"}


def test_a_signed_in_customers_cart_line_names_her_and_reaches_segments_and_journeys(
    container, client, clock
):
    from omniretail.carts import events as cart_events

    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    customer = make_customer(container)
    token = new_cart(client, customer_id=customer)
    ok(add(client, token, "A1", 1))

    relay(container, clock)

    added = [m for m in outbox(container) if m.type == cart_events.CartLineAdded.cloud_type()]
    assert [m.data["customer_id"] for m in added] == [customer]
    assert _planned(container, "orders.cart_line_added") == {
        "marketing.segments.orders.cart_line_added",
        "marketing.journeys.orders.cart_line_added",
    }
