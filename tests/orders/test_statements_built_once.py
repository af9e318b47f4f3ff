"""The checkout flow's parameterised writes are built once and reused (their values go as
parameters): a statement built anew on every call costs SQLAlchemy a cache-key walk of it
before its compiled form is found."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event
from sqlalchemy.sql.dml import Update

from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive


@contextmanager
def updates_of(table: str) -> Iterator[list[object]]:
    seen: list[object] = []

    def capture(_conn, statement, *_args) -> None:
        if isinstance(statement, Update) and statement.table.name == table:
            seen.append(statement)

    # every engine: cart changes commit on an engine of their own on PostgreSQL (not durable)
    event.listen(Engine, "before_execute", capture)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_execute", capture)


def test_the_line_refresh_and_the_payment_settling_reuse_one_statement(container, client):
    make_orders_network(container)
    for sku in ("A1", "B2"):
        receive(container, sku, "DC1", 10)
    tokens = [new_cart(client), new_cart(client)]
    with updates_of("cart_lines") as lines:
        for token in tokens:
            ok(add(client, token, "A1", 1))
            ok(add(client, token, "B2", 1))  # refreshes A1's hold and line
    assert len(lines) == 2
    assert lines[0] is lines[1]
    with updates_of("order_payment_attempts") as settled, updates_of("stock_holds") as claimed:
        for token in tokens:
            ok(checkout(client, token), 201)
    assert len(settled) == 2
    assert settled[0] is settled[1]
    # the cart's holds become the order's: one statement for every checkout
    claims = [u for u in claimed if "claim_ids" in str(u)]
    assert len(claims) == 2
    assert claims[0] is claims[1]
