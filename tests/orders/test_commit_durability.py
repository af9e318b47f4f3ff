"""Cart holds commit without waiting for the WAL flush on PostgreSQL; money never does.

On PostgreSQL the container has a second pool whose connections run with
``synchronous_commit=off``; the statements each request sends are captured per engine: cart
and hold requests use only that pool, checkout and every other stock movement never do. On
SQLite there is one write engine (WAL mode already commits without a sync)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive


@contextmanager
def statements(engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def capture(_conn, _cursor, statement, _params, _context, _many) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def writes(sql: list[str]) -> int:
    # a WITH is a batch of data-modifying CTEs (db.batch)
    starts = ("INSERT", "UPDATE", "DELETE", "WITH")
    return sum(1 for s in sql if s.lstrip().upper().startswith(starts))


def test_the_relaxed_pool_commits_asynchronously(container):
    if container.backend == "sqlite":
        # one write engine: WAL with synchronous=NORMAL already commits without a sync
        assert container.relaxed_engine is None
        with container.uow(durable=False) as uow:
            assert uow.session.get_bind() is container.engine
            assert uow.session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        return
    with container.uow(durable=False) as uow:
        assert uow.session.execute(text("SHOW synchronous_commit")).scalar() == "off"
    with container.uow() as uow:
        assert uow.session.execute(text("SHOW synchronous_commit")).scalar() == "on"


@pytest.mark.parametrize("backend", ["postgres"])  # overrides the sqlite/postgres fixture
def test_cart_requests_use_the_relaxed_pool_and_checkout_does_not(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    assert container.relaxed_engine is not None
    relaxed, durable = container.relaxed_engine, container.engine

    with statements(relaxed) as cart_sql, statements(durable) as cart_durable:
        token = new_cart(client)
        ok(add(client, token, "A1", 2, location="DC1"))
        ok(client.post(f"/api/v1/carts/{token}/refresh"))
    # cart, line with its hold and ledger row, refresh: all written through the relaxed pool
    assert writes(cart_sql) >= 5
    assert writes(cart_durable) == 0

    with statements(relaxed) as hold_sql, statements(durable) as hold_durable:
        hold = ok(
            client.post(
                "/api/v1/inventory/reservations",
                json={"sku": "A1", "location": "DC1", "channel": "WEB", "quantity": 1},
            ),
            201,
        )
        ok(client.post(f"/api/v1/inventory/reservations/{hold['id']}/release"))
    assert writes(hold_sql) >= 4 and writes(hold_durable) == 0

    with statements(relaxed) as money_relaxed, statements(durable) as money_sql:
        ok(checkout(client, token, key="durable-checkout"), 201)
        ok(
            client.post(
                "/api/v1/inventory/receipts",
                json={"sku": "A1", "location": "DC1", "quantity": 1},
            ),
            201,
        )
    assert writes(money_sql) >= 8 and money_relaxed == []

    stock = ok(client.get("/api/v1/inventory/stock", params={"sku": "A1"}))
    at_dc = next(level for level in stock if level["location"] == "DC1")
    # the relaxed commits still committed: 2 allocated by the order, 1 hold released
    assert (at_dc["on_hand"], at_dc["reserved"], at_dc["allocated"]) == (6, 0, 2)
