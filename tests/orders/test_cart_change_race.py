"""A cart change waiting for the cart's row lock sees the change that held it; a checkout of
a cart changed since it was read writes nothing.

On PostgreSQL a change bumps the cart's version and reads its lines in one statement, whose
snapshot is taken before the lock is granted: when another change committed meanwhile, the
lines are read again (``carts.cart._begin_change``). Here the second change must answer and
keep the line the first one added while it waited."""

from __future__ import annotations

import dataclasses
import threading
import time

from sqlalchemy import text

from omniretail.carts import service as carts
from omniretail.carts.schemas import CartLineAdd
from omniretail.orders.checkout import place
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive


def _waiting_for_lock(container, backend: str) -> bool:
    if backend != "postgres":
        return True  # SQLite: the writer waits on the database lock; nothing to look at
    with container.engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE 'WITH touched AS%'"
            )
        ).scalar_one()
    return bool(found)


def test_a_change_waiting_for_the_cart_sees_the_line_added_meanwhile(container, client, backend):
    make_orders_network(container)
    for sku in ("A1", "B2", "C3"):
        receive(container, sku, "DC1", 10)
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="DC1"))
    answers: dict[str, object] = {}

    def second_change() -> None:
        with container.uow() as uow:
            answers["second"] = carts.add_line(
                uow, token, CartLineAdd(sku="B2", quantity=1, location="DC1"), actor="test"
            )

    with container.uow() as uow:
        carts.add_line(uow, token, CartLineAdd(sku="C3", quantity=1, location="DC1"), actor="test")
        waiter = threading.Thread(target=second_change)
        waiter.start()
        deadline = time.monotonic() + 20
        while not _waiting_for_lock(container, backend) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    waiter.join(timeout=30)
    assert not waiter.is_alive()

    second = answers["second"]
    assert sorted(ln.sku for ln in second.lines) == ["A1", "B2", "C3"]  # type: ignore[attr-defined]
    body = ok(client.get(f"/api/v1/carts/{token}"))
    assert sorted((ln["sku"], ln["quantity"]) for ln in body["lines"]) == [
        ("A1", 1),
        ("B2", 1),
        ("C3", 1),
    ]
    assert ok(client.get("/api/v1/inventory/verify"))["drift"] == []


def test_a_checkout_of_a_cart_changed_since_it_was_read_writes_no_order(
    container, client, monkeypatch
):
    """The cart's close and the order go together (one statement on PostgreSQL): a cart
    whose version moved after checkout read it is refused, and no order row is left."""
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="DC1"))
    read = place.load_cart

    def stale(*args, **kwargs):
        view = read(*args, **kwargs)
        return dataclasses.replace(view, version=view.version - 1)

    monkeypatch.setattr(place, "load_cart", stale)
    refused = checkout(client, token, key="stale")
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("cart-changed")
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar_one() == 0
    assert ok(client.get(f"/api/v1/carts/{token}"))["status"] == "active"

    monkeypatch.setattr(place, "load_cart", read)
    order = ok(checkout(client, token, key="fresh"), 201)
    assert [(ln["sku"], ln["quantity"]) for ln in order["lines"]] == [("A1", 1)]
    assert ok(client.get("/api/v1/inventory/verify"))["drift"] == []
