"""Cart holds commit without waiting for the WAL flush on PostgreSQL; money never does.

The statements each request sends are captured on the engine: cart requests end with
``SET LOCAL synchronous_commit TO OFF`` before their commit, checkout and every inventory
movement that is not a hold do not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive

RELAX = "SET LOCAL synchronous_commit TO OFF"


@contextmanager
def statements(container) -> Iterator[list[str]]:
    seen: list[str] = []

    def capture(_conn, _cursor, statement, _params, _context, _many) -> None:
        seen.append(statement)

    event.listen(container.engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(container.engine, "before_cursor_execute", capture)


def test_cart_requests_relax_durability_and_checkout_does_not(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    relaxing = container.backend == "postgresql"

    with statements(container) as cart_sql:
        token = new_cart(client)
        ok(add(client, token, "A1", 2, location="DC1"))
        ok(client.post(f"/api/v1/carts/{token}/refresh"))
    assert cart_sql.count(RELAX) == (3 if relaxing else 0)

    with statements(container) as hold_sql:
        hold = ok(
            client.post(
                "/api/v1/inventory/reservations",
                json={"sku": "A1", "location": "DC1", "channel": "WEB", "quantity": 1},
            ),
            201,
        )
        ok(client.post(f"/api/v1/inventory/reservations/{hold['id']}/release"))
    assert hold_sql.count(RELAX) == (2 if relaxing else 0)

    with statements(container) as money_sql:
        ok(checkout(client, token, key="durable-checkout"), 201)
        ok(
            client.post(
                "/api/v1/inventory/receipts",
                json={"sku": "A1", "location": "DC1", "quantity": 1},
            ),
            201,
        )
    assert money_sql and RELAX not in money_sql

    stock = ok(client.get("/api/v1/inventory/stock", params={"sku": "A1"}))
    at_dc = next(level for level in stock if level["location"] == "DC1")
    # the relaxed commits still committed: 2 allocated by the order, 1 hold released
    assert (at_dc["on_hand"], at_dc["reserved"], at_dc["allocated"]) == (6, 0, 2)
